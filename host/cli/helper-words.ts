// What the CLI's main thread and its helper thread share (main-thread-helper.ts, main-thread-helper-worker.ts).

/** Stop requests so far (Ctrl-C and SIGTERM), whoever took them: the main thread's SIGINT watchdog, then the helper. */
export const W_STOPS = 0;
/** 0, or why the guest must end now: FORCE_NOW (a second request) or FORCE_GRACE (it did not stop in time). */
export const W_FORCE = 1;
/** Set by the main thread once its guest has ended. */
export const W_ENDED = 2;
export const WORDS = 3;

export const FORCE_NOW = 1;
export const FORCE_GRACE = 2;

/** The helper's workerData. */
export interface HelperData {
  readonly state: SharedArrayBuffer;
  readonly graceMs: number;
  /** How long the main thread has to end its guest once forced before the process is killed. */
  readonly lastResortMs: number;
}

/** Main thread -> helper. */
export type ToHelper =
  /** The guest registered: what asking it to stop takes (the native addon's wake reaches its futex). */
  | { readonly type: 'guest'; readonly memory: SharedArrayBuffer; readonly shutdownAddr: number; readonly completionsAddr: number; readonly addonPath: string }
  /** The main thread took a first stop request itself: the grace period runs from now. */
  | { readonly type: 'grace' };
