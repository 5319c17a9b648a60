// What the CLI's main thread and its helper thread share (main-thread-helper.ts, main-thread-helper-worker.ts).

/** SIGTERMs the helper took. */
export const W_SIGTERMS = 0;
/** Set by the helper when the grace period ended (it then interrupts the main thread with SIGINT). */
export const W_GRACE_OVER = 1;
/** Set by the main thread once its guest has ended. */
export const W_ENDED = 2;
/** SIGINTs the helper sent the main thread (the grace period's end, a second SIGTERM): not the user's Ctrl-C. */
export const W_INTERRUPTS = 3;
export const WORDS = 4;

/** The helper's workerData. */
export interface HelperData {
  readonly state: SharedArrayBuffer;
  /** How long the main thread has to end its guest after the grace period before the process is killed. */
  readonly lastResortMs: number;
}

/** Main thread -> helper. */
export type ToHelper =
  /** The guest registered: what asking it to stop takes (the native addon's wake reaches its futex). */
  | { readonly type: 'guest'; readonly memory: SharedArrayBuffer; readonly shutdownAddr: number; readonly completionsAddr: number; readonly addonPath: string }
  /** A stop was asked: the grace period runs from now. */
  | { readonly type: 'grace'; readonly ms: number };
