import { Script } from 'node:vm';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { EXIT_INTERRUPTED, EXIT_KILLED, GuestExit } from '../errors.js';
import type { GuestOutcome } from '../guest/guest-instance.js';
import type { Sleep, ThisThreadGuest } from '../vm/this-thread.js';
import { MainThreadHelper } from './main-thread-helper.js';

/** The CLI's grace period: a guest asked to stop that has not exited after it is ended (status 137). */
export const GRACE_MS = 2000;
/** The longest one sleep of the guest lasts before this thread looks at requests again (µs). */
const SLICE_US = 50_000;
/** A guest that has run this long gets its helper thread (ms): a short run never pays for a thread. */
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
 * signal asks the guest to stop (the shutdown word) and prints the same line, a second exits at once
 * (137), and a guest still running after the grace period is ended (137, "did not exit in time").
 *
 * - SIGINT: the guest runs, and each of its sleeps waits, under Node's SIGINT watchdog. Ctrl-C during
 *   a sleep (a guest waiting for a client, a timer, input) interrupts only the sleep: the stop is
 *   asked and the guest winds down as on a worker (a server finishes what is in flight). Ctrl-C while
 *   the guest computes stops the computation where it is: the guest ends at once (130).
 * - SIGTERM and the grace period need an event loop: a helper thread (main-thread-helper.ts) started
 *   once the guest has run HELPER_AFTER_MS or is asked to stop. It takes SIGTERM, asking the stop
 *   even while the guest computes, and ends the grace period by interrupting this thread with
 *   SIGINT. Before it runs, SIGTERM ends the process as it ends any process without a handler (143).
 */
export class MainThreadSignals implements Pick<ThisThreadGuest, 'registered' | 'enter' | 'sleep'> {
  /** Stop requests the guest got (Ctrl-C and SIGTERM). */
  private count = 0;
  private sigtermsSeen = 0;
  private interruptsSeen = 0;
  private guest: { i32: Int32Array; shutdownW: number; completionsW: number; memory: SharedArrayBuffer; ctrl: number } | null = null;
  private startedAt = 0;
  private helper: MainThreadHelper | null = null;

  constructor(
    private readonly addonPath: string,
    /** Called as the guest starts: the main thread's own SIGTERM listener must let go (its loop is blocked). */
    private readonly beforeRun: () => void,
    private readonly write: (line: string) => void = (l) => process.stderr.write(l),
  ) {}

  /** Whether any signal came while the guest ran (the CLI then prints the statistics). */
  get interrupted(): boolean {
    return this.count > 0;
  }

  registered(memory: SharedArrayBuffer, ctrl: number): void {
    const i32 = new Int32Array(memory);
    this.guest = { i32, memory, ctrl, shutdownW: (ctrl + C_SHUTDOWN) >> 2, completionsW: (ctrl + C_COMPLETIONS) >> 2 };
    this.helper?.guest(memory, ctrl, this.addonPath);
    if (this.count > 0) this.askStop();
  }

  enter(run: () => GuestOutcome): GuestOutcome {
    this.beforeRun();
    this.startedAt = performance.now();
    try {
      const r = underSigint(run);
      if (r) return r.value;
      // SIGINT found the guest computing: its frames are gone, it ends here.
      if (this.interrupted_()) return { kind: 'exit', status: EXIT_KILLED, message: TIMED_OUT };
      return { kind: 'exit', status: EXIT_INTERRUPTED, message: 'interrupted while it computed (on the main thread a guest cannot be asked to stop in the middle of a computation)' };
    } finally {
      this.helper?.end();
    }
  }

  sleep(sleep: Sleep, timeoutUs: number): number {
    this.lookOutside();
    const deadline = timeoutUs < 0 ? Infinity : performance.now() + timeoutUs / 1000;
    const terms = this.sigterms();
    const r = underSigint(() => {
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0) return 2;
        const r = sleep.wait(Math.min(SLICE_US, Math.ceil(left * 1000)));
        if (r === 1 || (r === 0 && sleep.word() !== sleep.expected)) return r;
        // A slice that ran out, or a wake-up that changed nothing (a signal's handler interrupted
        // the wait): a Ctrl-C on its way lands in this loop; a SIGTERM is looked at outside it.
        if (this.sigterms() !== terms) return 0;
        this.startHelper();
      }
    });
    if (r === null && this.interrupted_()) throw new GuestExit(EXIT_KILLED, TIMED_OUT);
    this.lookOutside();
    return r?.value ?? 0;
  }

  /**
   * SIGINT came: the user's Ctrl-C, or the helper's (a second SIGTERM, the grace period's end).
   * Returns true when the grace period is over (the guest must end, 137); a second request exits.
   */
  private interrupted_(): boolean {
    const sent = this.helper?.interrupts ?? 0;
    const own = sent > this.interruptsSeen;
    this.interruptsSeen = sent;
    this.catchUp();
    if (this.helper?.graceOver) return true;
    if (!own) this.received();
    return false;
  }

  /** A stop request: the first asks the guest to stop, a second exits now (as the CLI does for any guest). */
  private received(): void {
    this.count++;
    if (this.count === 1) {
      this.write('\nflexvm: stopping guests (Ctrl-C again to force)\n');
      this.askStop();
      this.startHelper(true).grace(GRACE_MS);
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

  private sigterms(): number {
    return this.helper?.sigterms ?? 0;
  }

  /** SIGTERMs the helper took, then the helper itself once the guest has run a while. */
  private lookOutside(): void {
    this.catchUp();
    this.startHelper();
  }

  private catchUp(): void {
    const terms = this.sigterms();
    while (this.sigtermsSeen < terms) {
      this.sigtermsSeen++;
      this.received();
    }
  }

  /** The helper thread, once the guest has run a while (or `now`, for a stop's grace period). */
  private startHelper(now = false): MainThreadHelper {
    if (this.helper || (!now && performance.now() - this.startedAt < HELPER_AFTER_MS)) return this.helper!;
    this.helper = new MainThreadHelper();
    if (this.guest) this.helper.guest(this.guest.memory, this.guest.ctrl, this.addonPath);
    return this.helper;
  }
}
