// The words the CLI's main thread and its SIGTERM watcher share (sigterm-watcher.ts, sigterm-watcher-worker.ts).

/** SIGTERMs received. */
export const W_SIGNALS = 0;
/** Set by the main thread once its guest has ended. */
export const W_ENDED = 1;
export const WORDS = 2;

/** The watcher's workerData. */
export interface WatcherData {
  readonly state: SharedArrayBuffer;
  /** After the first SIGTERM: how long the main thread has to end the guest before the process is killed. */
  readonly firstMs: number;
  /** After a second one. */
  readonly againMs: number;
}

/** What the watcher needs to ask the guest to stop (sent once it registered). */
export interface GuestWords {
  readonly memory: SharedArrayBuffer;
  readonly shutdownAddr: number;
  readonly completionsAddr: number;
  /** The native addon, whose wake reaches a guest sleeping on the kernel's futex. */
  readonly addonPath: string;
}
