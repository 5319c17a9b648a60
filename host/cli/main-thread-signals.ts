import { Script } from 'node:vm';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { EXIT_INTERRUPTED, EXIT_KILLED, GuestExit } from '../errors.js';
import type { GuestOutcome } from '../guest/guest-instance.js';
import type { Sleep, ThisThreadGuest } from '../vm/this-thread.js';
import { FORCE_GRACE, FORCE_NOW, W_FORCE, W_STOPS } from './helper-words.js';
import { MainThreadHelper } from './main-thread-helper.js';

/** The CLI's grace period: a guest asked to stop that has not exited after it is ended (status 137). */
export const GRACE_MS = 2000;
/** The longest one sleep of the guest lasts before this thread looks at requests again (µs). */
const SLICE_US = 50_000;
/** A guest that has run this long without waiting gets its helper thread anyway (ms). */
const HELPER_AFTER_MS = 200;
const INTERRUPTED = 'ERR_SCRIPT_EXECUTION_INTERRUPTED';
const TIMED_OUT = 'stopped by the host (did not exit in time)';

// A function run under Node's SIGINT watchdog (vm's breakOnSigint): the one way a Node thread whose
// event loop is blocked learns of Ctrl-C. The watchdog's own thread stops the JavaScript running
// inside the script, which then throws ERR_SCRIPT_EXECUTION_INTERRUPTED where it was entered;
// what called it (the guest's Wasm frames, below a sleep) carries on.
const CALL = Symbol.for('flexvm.mainThreadCall');
const script = new Script(`globalThis[Symbol.for('flexvm.mainThreadCall')]()`, { filename: 'flexvm:main-thread' });

/** `fn()`, or null when SIGINT interrupted it. Nests: the innermost call is the one interrupted. */
function underSigint<T>(fn: () => T): { value: T } | null {
  const g = globalThis as Record<symbol, unknown>;
  const outer = g[CALL];
  g[CALL] = fn;
  try {
    return { value: script.runInThisContext({ breakOnSigint: true }) as T };
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === INTERRUPTED) return null;
    throw err;
  } finally {
    g[CALL] = outer;
  }
}

/**
 * Ctrl-C and SIGTERM for `flexvm run`'s guest on the main thread (host/vm/this-thread.ts; why and
 * what it keeps: docs/startup.md). What the CLI does for a guest on a worker it does here: the first
 * request asks the guest to stop (the shutdown word) and prints the same line, a second exits at
 * once (137), and a guest still running after the grace period is ended (137, "did not exit in time").
 *
 * - From the start, Ctrl-C goes to Node's SIGINT watchdog: the guest runs, and each of its sleeps
 *   waits, under it. Ctrl-C during a sleep interrupts only the sleep, and the stop is asked as on a
 *   worker; Ctrl-C while the guest computes stops the computation where it is (130).
 * - Once the guest waits for something outside (a sleep longer than a slice) or has run
 *   HELPER_AFTER_MS, a helper thread starts (main-thread-helper.ts) and takes Ctrl-C and SIGTERM
 *   from then on: it asks the stop whatever the guest is doing and keeps the grace period; this
 *   thread carries out a forced end when its guest next sleeps (a guest that never does goes with
 *   the process). Before that, SIGTERM ends the process as it ends any process without a handler.
 */
export class MainThreadSignals implements Pick<ThisThreadGuest, 'registered' | 'enter' | 'sleep'> {
  private readonly words = MainThreadHelper.words();
  private guest: { i32: Int32Array; shutdownW: number; completionsW: number; memory: SharedArrayBuffer; ctrl: number } | null = null;
  private startedAt = 0;
  private helper: MainThreadHelper | null = null;

  constructor(
    private readonly addonPath: string,
    /** Called as the guest starts: the main thread's own signal listeners must let go (its loop is blocked). */
    private readonly beforeRun: () => void,
    private readonly write: (line: string) => void = (l) => process.stderr.write(l),
  ) {}

  /** Whether a stop was asked while the guest ran (the CLI then prints the statistics). */
  get interrupted(): boolean {
    return Atomics.load(this.words, W_STOPS) > 0;
  }

  registered(memory: SharedArrayBuffer, ctrl: number): void {
    const i32 = new Int32Array(memory);
    this.guest = { i32, memory, ctrl, shutdownW: (ctrl + C_SHUTDOWN) >> 2, completionsW: (ctrl + C_COMPLETIONS) >> 2 };
    this.helper?.guest(memory, ctrl, this.addonPath);
    if (this.interrupted) this.askStop();
  }

  enter(run: () => GuestOutcome): GuestOutcome {
    this.beforeRun();
    this.startedAt = performance.now();
    try {
      const r = underSigint(run);
      if (r) return r.value;
      // The watchdog found the guest computing: its frames are gone, it ends here.
      this.ctrlC();
      return { kind: 'exit', status: EXIT_INTERRUPTED, message: 'interrupted while it computed (on the main thread a guest cannot be asked to stop in the middle of a computation)' };
    } finally {
      this.helper?.end();
    }
  }

  sleep(sleep: Sleep, timeoutUs: number): number {
    this.lookOutside();
    // No sleep at all (the addon then only runs what is pending): nothing to look after.
    if (timeoutUs === 0) return sleep.wait(0);
    const deadline = timeoutUs < 0 ? Infinity : performance.now() + timeoutUs / 1000;
    const stops = Atomics.load(this.words, W_STOPS);
    const r = underSigint(() => {
      for (;;) {
        const left = deadline - performance.now();
        const r = sleep.wait(Math.max(0, Math.min(SLICE_US, Math.ceil(left * 1000))));
        if (r === 1 || (r === 0 && sleep.word() !== sleep.expected)) return r;
        if (performance.now() >= deadline) return 2;
        // A slice that ran out (the guest waits for something outside: time for the helper), or a
        // wake-up that changed nothing (a signal's handler interrupted the wait, or the helper woke
        // it): a Ctrl-C on its way to the watchdog lands in this loop; the helper's news outside it.
        if (Atomics.load(this.words, W_STOPS) !== stops || Atomics.load(this.words, W_FORCE) !== 0) return 0;
        if (r === 2) this.startHelper();
      }
    });
    if (r === null) this.ctrlC();
    this.lookOutside();
    return r?.value ?? 0;
  }

  /** A Ctrl-C the watchdog took: the first asks the guest to stop, a second exits now (as the CLI does for any guest). */
  private ctrlC(): void {
    const n = Atomics.add(this.words, W_STOPS, 1) + 1;
    if (n === 1) {
      this.write('\nflexvm: stopping guests (Ctrl-C again to force)\n');
      this.askStop();
      this.startHelper(true).grace();
    } else {
      this.write('flexvm: interrupted again, exiting now\n');
      process.exit(EXIT_KILLED); // a forced stop, as when a guest is terminated (128 + SIGKILL)
    }
  }

  /** The shutdown word, as SupervisedGuest.kill writes it (the guest sees it when it looks, here or in its loop). */
  private askStop(): void {
    const g = this.guest;
    if (!g) return; // not registered yet: written once it is
    Atomics.store(g.i32, g.shutdownW, 1);
    Atomics.add(g.i32, g.completionsW, 1);
  }

  /** A forced end the helper asked for; the helper itself once the guest has run a while. */
  private lookOutside(): void {
    const force = Atomics.load(this.words, W_FORCE);
    if (force === FORCE_NOW) process.exit(EXIT_KILLED);
    if (force === FORCE_GRACE) throw new GuestExit(EXIT_KILLED, TIMED_OUT);
    if (performance.now() - this.startedAt >= HELPER_AFTER_MS) this.startHelper();
  }

  /** The helper thread (started once: it takes Ctrl-C and SIGTERM from the watchdog from then on). */
  private startHelper(now = false): MainThreadHelper {
    if (!this.helper && (now || this.startedAt > 0)) {
      this.helper = new MainThreadHelper(this.words, GRACE_MS);
      if (this.guest) this.helper.guest(this.guest.memory, this.guest.ctrl, this.addonPath);
    }
    return this.helper!;
  }
}
