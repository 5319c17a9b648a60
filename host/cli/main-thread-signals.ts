import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { EXIT_KILLED } from '../errors.js';
import type { GuestOutcome } from '../guest/guest-instance.js';
import type { NativeAddon, NativeSignalWatcher } from '../kernel/native/addon.js';
import type { Sleep, ThisThreadGuest } from '../vm/this-thread.js';

/** The CLI's grace period: a guest asked to stop that has not exited after it is ended (status 137). */
export const GRACE_MS = 2000;
/** What the CLI prints on a first stop request, and on a second (for a guest on a worker too: run-command.ts). */
export const STOP_LINE = '\nflexvm: stopping guests (Ctrl-C again to force)\n';
export const FORCE_LINE = 'flexvm: interrupted again, exiting now\n';
/** The longest one sleep of the guest lasts before it comes back to Wasm, where a forced end lands (µs). */
const SLICE_US = 50_000;
const TIMED_OUT = 'stopped by the host (did not exit in time)';
/** A monotonic clock in µs (not `performance`, whose module the CLI's main-thread path does not otherwise load). */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
/** NativeSignalWatcher.forced(): a second request. */
const FORCE_NOW = 1;

/** The watcher the CLI's entry started as soon as it knew (startMainThreadSignals), until run-command.ts takes it. */
let early: MainThreadSignals | null = null;

/**
 * Starts taking Ctrl-C and SIGTERM for a guest that will run on the main thread, as soon as the
 * CLI's entry has read the command line (before the rest of flexvm loads): a request from then on
 * is that guest's (it is not started, or is asked to stop), not the end of the process.
 */
export function startMainThreadSignals(addon: NativeAddon): void {
  early ??= new MainThreadSignals(addon);
}

/** The watcher started early, or a new one: its owner closes it. */
export function takeMainThreadSignals(addon: NativeAddon): MainThreadSignals {
  const s = early ?? new MainThreadSignals(addon);
  early = null;
  return s;
}

/** A watcher started early that no guest took (the command ended otherwise): the signals go back. */
export function releaseMainThreadSignals(): void {
  early?.close();
  early = null;
}

/**
 * Ctrl-C and SIGTERM for `flexvm run`'s guest on the main thread (host/vm/this-thread.ts; why:
 * docs/startup.md). The main thread is blocked while its guest runs, so the native addon takes the
 * signals (native/src/signal-watcher.cc) from the moment this is made until `close`, and does what
 * the CLI does for a guest on a worker: the first request prints the line, writes the guest's
 * shutdown word and wakes it, and starts the grace period; a second request exits at once (137),
 * and a guest still running when the grace period ends is ended (137, "did not exit in time", with
 * its statistics), whether it sleeps or computes. Ending it is V8's TerminateExecution, which
 * unwinds the guest to `enter`.
 */
export class MainThreadSignals implements Pick<ThisThreadGuest, 'registered' | 'enter' | 'sleep'> {
  private readonly watcher: NativeSignalWatcher;

  constructor(addon: NativeAddon) {
    this.watcher = addon.watchSignals({
      graceMs: GRACE_MS,
      stopLine: STOP_LINE,
      forceLine: FORCE_LINE,
      // A forced end while no guest runs on this thread (it has not started, or has ended): a
      // second request exits now; the grace period's end has nothing left to end (a guest asked
      // to stop before it started does not start: run-command.ts).
      onForce: (kind) => {
        if (kind === FORCE_NOW) process.exit(EXIT_KILLED);
      },
    });
  }

  /** Whether a stop was asked (the CLI then prints the statistics; a guest not started yet is not started). */
  get interrupted(): boolean {
    return this.watcher.stops() > 0;
  }

  registered(memory: SharedArrayBuffer, ctrl: number): void {
    this.watcher.guest(memory, ctrl + C_SHUTDOWN, ctrl + C_COMPLETIONS);
  }

  enter(run: () => GuestOutcome): GuestOutcome {
    let outcome: GuestOutcome | undefined;
    const returned = this.watcher.run(() => {
      outcome = run();
    });
    // A second request exits as it does for a guest on a worker (128 + SIGKILL, as a terminated guest).
    if (this.watcher.forced() === FORCE_NOW) process.exit(EXIT_KILLED);
    if (returned) return outcome!;
    // The grace period ended: the guest's frames are gone, it ends here as a terminated worker's does.
    return { kind: 'exit', status: EXIT_KILLED, message: TIMED_OUT };
  }

  /**
   * Every sleep of the guest, sliced: a forced end lands when the guest is back in Wasm, and the
   * watcher wakes only the completions word, where the guest's library sleeps; a guest's own
   * flexvm.wait on another word comes back within a slice. A wake-up that changed nothing (a
   * signal's handler interrupted the wait on this thread) waits again.
   */
  sleep(sleep: Sleep, timeoutUs: number): number {
    if (timeoutUs === 0) return sleep.wait(0);
    const deadline = timeoutUs < 0 ? Infinity : nowUs() + timeoutUs;
    for (;;) {
      const r = sleep.wait(Math.max(0, Math.min(SLICE_US, Math.ceil(deadline - nowUs()))));
      if (r === 1 || (r === 0 && sleep.word() !== sleep.expected)) return r;
      if (nowUs() >= deadline) return 2;
    }
  }

  /** The signals go back to whoever had them (Node's own handlers). */
  close(): void {
    this.watcher.close();
  }
}
