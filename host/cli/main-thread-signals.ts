import { Script } from 'node:vm';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { EXIT_INTERRUPTED, EXIT_KILLED, GuestExit } from '../errors.js';
import type { GuestOutcome } from '../guest/guest-instance.js';
import type { Sleep, ThisThreadGuest } from '../vm/this-thread.js';
import { SigtermWatcher } from './sigterm-watcher.js';

/** The CLI's grace period: a guest asked to stop that has not exited after it is ended (status 137). */
export const GRACE_MS = 2000;
/** The longest one sleep of the guest lasts before this thread looks at requests again (µs). */
const SLICE_US = 50_000;
/** A guest that has run this long gets a SIGTERM watcher (ms): a short run never pays for its thread. */
const SIGTERM_WATCH_AFTER_MS = 200;
const INTERRUPTED = 'ERR_SCRIPT_EXECUTION_INTERRUPTED';

// A function run under Node's SIGINT watchdog (vm's breakOnSigint): the one way a Node thread whose
// event loop is blocked learns of Ctrl-C. The watchdog's own thread stops the JavaScript running
// inside the script, which then throws ERR_SCRIPT_EXECUTION_INTERRUPTED where it was entered;
// what called it (the guest's Wasm frames, below a sleep) carries on.
const CALL = Symbol.for('flexvm.mainThreadCall');
const script = new Script(`globalThis[Symbol.for('flexvm.mainThreadCall')]()`, { filename: 'flexvm:main-thread' });

/** `fn()`, or null when Ctrl-C interrupted it. Nests: the innermost call is the one interrupted. */
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
 * what it keeps: docs/startup.md). What the CLI does for a guest on a worker, it does here from the
 * guest's sleeps: the first signal asks the guest to stop (the shutdown word) and prints the same
 * line, a second exits at once (137), and a guest still running after the grace period is ended
 * (137, "did not exit in time").
 *
 * - SIGINT: the guest runs, and each of its sleeps waits, under Node's SIGINT watchdog. Ctrl-C during
 *   a sleep (a guest waiting for a client, a timer, input) interrupts only the sleep: the stop is
 *   asked and the guest winds down as on a worker (a server finishes what is in flight). Ctrl-C while
 *   the guest computes stops the computation where it is: the guest ends at once (130).
 * - SIGTERM: a guest that has run for SIGTERM_WATCH_AFTER_MS gets a watcher thread that takes it
 *   (sigterm-watcher.ts) and asks the stop even while it computes. Before that, SIGTERM ends the
 *   process as it ends any process without a handler (128 + 15).
 */
export class MainThreadSignals implements Pick<ThisThreadGuest, 'registered' | 'enter' | 'sleep'> {
  /** Signals this guest got (both kinds). */
  private count = 0;
  private sigtermSeen = 0;
  private forceAt = Infinity;
  private guest: { i32: Int32Array; shutdownW: number; completionsW: number; memory: SharedArrayBuffer; ctrl: number } | null = null;
  private startedAt = 0;
  private sigterm: SigtermWatcher | null = null;

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
    this.sigterm?.guest(memory, ctrl, this.addonPath);
    if (this.count > 0) this.askStop();
  }

  enter(run: () => GuestOutcome): GuestOutcome {
    this.beforeRun();
    this.startedAt = performance.now();
    try {
      const r = underSigint(run);
      if (r) return r.value;
      // Ctrl-C found the guest computing: its frames are gone, it ends here.
      this.received();
      return { kind: 'exit', status: EXIT_INTERRUPTED, message: 'interrupted while it computed (a guest on the main thread cannot be asked to stop in the middle of a computation)' };
    } finally {
      this.sigterm?.end();
    }
  }

  sleep(sleep: Sleep, timeoutUs: number): number {
    this.lookOutside();
    const deadline = timeoutUs < 0 ? Infinity : performance.now() + timeoutUs / 1000;
    const seen = this.seenOutside();
    const r = underSigint(() => {
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0) return 2;
        const r = sleep.wait(Math.min(SLICE_US, Math.ceil(left * 1000)));
        if (r === 1 || (r === 0 && sleep.word() !== sleep.expected)) return r;
        // A slice that ran out, or a wake-up that changed nothing (a signal's handler interrupted
        // the wait): a Ctrl-C on its way lands in this loop; anything else is looked at outside it.
        if (this.seenOutside() !== seen || performance.now() >= this.forceAt) return 0;
        this.watchSigterm();
      }
    });
    if (r === null) this.received();
    this.lookOutside();
    return r?.value ?? 0;
  }

  /** A signal for this guest: the first asks it to stop, a second exits now (as the CLI does for any guest). */
  private received(): void {
    this.count++;
    if (this.count === 1) {
      this.write('\nflexvm: stopping guests (Ctrl-C again to force)\n');
      this.askStop();
      this.forceAt = performance.now() + GRACE_MS;
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

  private seenOutside(): number {
    return (this.sigterm?.signals ?? 0) + (this.forceAt === Infinity ? 0 : 1);
  }

  /** SIGTERMs the watcher took, and the grace period's end. */
  private lookOutside(): void {
    const terms = this.sigterm?.signals ?? 0;
    while (this.sigtermSeen < terms) {
      this.sigtermSeen++;
      this.received();
    }
    if (performance.now() >= this.forceAt) throw new GuestExit(EXIT_KILLED, 'stopped by the host (did not exit in time)');
    this.watchSigterm();
  }

  private watchSigterm(): void {
    if (this.sigterm || performance.now() - this.startedAt < SIGTERM_WATCH_AFTER_MS) return;
    this.sigterm = SigtermWatcher.start(GRACE_MS);
    if (this.guest) this.sigterm.guest(this.guest.memory, this.guest.ctrl, this.addonPath);
  }
}
