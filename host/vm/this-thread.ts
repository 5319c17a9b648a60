// Running a guest on the calling thread instead of a worker of its own: `flexvm run`'s start-up
// path on the native kernel (docs/startup.md). Node starts a worker without a snapshot, which
// costs more than everything else flexvm does to start a guest that exits at once; the native
// kernel's syscall threads are C++ threads, so no JavaScript kernel needs this thread's event loop
// while the guest runs here. Not part of the embedding API: the calling thread is blocked for the
// guest's whole life (no timers, no messages, no signal handlers of its event loop), which only a
// command line that has arranged for that (host/cli/main-thread-signals.ts: the native addon takes
// the signals) can accept.
import type { GuestOutcome } from '../guest/guest-instance.js';

/** The key of VMOptions and SpawnOptions under which the CLI asks for it (a symbol: no public option). */
export const ON_THIS_THREAD = Symbol('flexvm.onThisThread');

/**
 * One sleep of the guest's thread: waits up to `timeoutUs` (-1: no limit) and answers as
 * `flexvm.wait` does (0 woken, 1 the word differed, 2 timed out). `word()` reads the word it waits
 * on: a wake-up that left it unchanged is spurious (a signal's handler interrupted the wait).
 */
export interface Sleep {
  wait(timeoutUs: number): number;
  word(): number;
  readonly expected: number;
}

/** SpawnOptions[ON_THIS_THREAD]: how a guest run on this thread meets its host. */
export interface ThisThreadGuest {
  /**
   * Host descriptors the guest gets as its 0, 1 and 2 (the native kernel duplicates them; -1: none,
   * end of file and EPIPE). Its standard streams are then the host's own, with their back-pressure,
   * since this thread cannot pump pipes while the guest runs on it.
   */
  readonly stdio: readonly [number, number, number];
  /** The guest registered: its memory and control block (where a stop request is written). */
  registered(memory: SharedArrayBuffer, ctrl: number): void;
  /** Runs the guest (its `_start`): the one long call this thread makes for it; may end it early (a forced stop). */
  enter(run: () => GuestOutcome): GuestOutcome;
  /**
   * Every sleep of the guest (its `flexvm.wait`, a hand-off's wait) goes through here, answering as
   * `sleep.wait` does: the host may slice it (a forced stop lands when the guest is back in Wasm).
   */
  sleep(sleep: Sleep, timeoutUs: number): number;
}

/** VMOptions[ON_THIS_THREAD]: the VM's first guest will run on this thread (no spare worker is started). */
export type ThisThreadVM = true;
