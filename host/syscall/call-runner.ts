import { EAGAIN, EIO, SYS_close, EW_SYSNO, EW_ARG0, EW_ARG1, EW_ARG2, EW_ARG3, EW_ARG4, EW_ARG5, EW_FLAGS } from '../abi/v1.js';
import { PENDING, type Kernel, type Limits } from '../kernel/kernel.js';
import { SysError, internalError } from '../errors.js';
import { EntryCall, type CallSink } from './entry-call.js';
import { GC_PENDING, SYSNO_LIMIT, type ServedGuest } from './served-guest.js';

/** Takes a place in a guest's shared count of calls in flight, if one is left under `max`. */
function takeSharedPlace(counters: Int32Array, max: number): boolean {
  if (Atomics.add(counters, GC_PENDING, 1) < max) return true;
  Atomics.sub(counters, GC_PENDING, 1);
  return false;
}

/**
 * Runs claimed entries against this thread's kernel: reads the entry once, holds the per-guest cap
 * on calls in flight, turns a kernel's exception into -errno, keeps parked calls for cancellation,
 * and recycles a call that completed at once (the hot path allocates nothing).
 */
export class CallRunner {
  /** A finished call to reuse for the next one. */
  private spare: EntryCall | null = null;

  constructor(
    private readonly kernel: Kernel,
    private readonly sink: CallSink,
    private readonly limits: Limits,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Runs the entry's call. `thread` is the descriptor class: the thread the guest posted to (for
   * forwarded calls, the forwarding thread).
   */
  execute(g: ServedGuest, index: number, thread: number): void {
    const i32 = g.i32;
    const w = g.entryW(index);
    const sysno = i32[w + EW_SYSNO]!;
    const call = this.newCall(
      g, index, thread, sysno,
      i32[w + EW_ARG0]!, i32[w + EW_ARG1]!, i32[w + EW_ARG2]!, i32[w + EW_ARG3]!, i32[w + EW_ARG4]!, i32[w + EW_ARG5]!,
      i32[w + EW_FLAGS]!,
    );
    this.run(g, call);
  }

  newCall(g: ServedGuest, index: number, thread: number, sysno: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, flags: number): EntryCall {
    const spare = this.spare;
    if (spare) {
      this.spare = null;
      return spare.reset(g, index, thread, sysno, a0, a1, a2, a3, a4, a5, flags);
    }
    return new EntryCall(this.sink, g, index, thread, sysno, a0, a1, a2, a3, a4, a5, flags);
  }

  run(g: ServedGuest, call: EntryCall): void {
    const sysno = call.sysno;
    if (sysno >>> 0 < SYSNO_LIMIT) g.submittedBySysno[sysno]!++;
    // The cap bounds what a guest can have in flight, on all its threads together; a close only gives
    // back, so it always runs. A sole executor (every guest of the virtual kernel's home thread, any
    // guest served by one thread) counts exactly what it holds in `inflight`. Where several threads
    // execute one guest's calls, a call takes its place in the shared count before it starts, so two
    // threads cannot both take the last one, and gives it back when it completes. (Looking first and
    // adding when a call parks is not exact there: a thread that looked before another took the last
    // place can land after it.)
    const shared = g.countsShared;
    if (sysno !== SYS_close) {
      const max = this.limits.maxPending;
      if (shared ? !takeSharedPlace(g.counters, max) : g.inflight.size >= max) {
        call.complete(-EAGAIN);
        return;
      }
    }
    let result: number;
    try {
      result = this.kernel.syscall(g.proc, call);
    } catch (err) {
      result = this.errorResult(err, g, call);
    }
    if (result === PENDING && !call.done) {
      g.inflight.set(call.index, call);
      if (shared && sysno === SYS_close) Atomics.add(g.counters, GC_PENDING, 1);
      return;
    }
    if (shared && sysno !== SYS_close) Atomics.sub(g.counters, GC_PENDING, 1);
    if (result !== PENDING) {
      call.complete(result);
      if (call.onDone === null) this.spare = call; // completed inside syscall(): no one holds it
    }
  }

  /** Asks the kernel to interrupt a running call (paper 4.2); the call's result says who won. */
  interrupt(g: ServedGuest, index: number): void {
    const call = g.inflight.get(index);
    if (!call) return;
    call.cancelRequested = true;
    const cancel = call.onCancel;
    if (cancel) {
      try {
        cancel();
      } catch (err) {
        this.log(internalError(`cancel hook failed: ${(err as Error).message}`));
      }
    }
  }

  private errorResult(err: unknown, g: ServedGuest, call: EntryCall): number {
    if (err instanceof SysError) return -err.errno;
    g.diagnose(internalError(`${g.name}: kernel failed on syscall ${call.sysno}: ${(err as Error)?.stack ?? String(err)}`), this.log);
    return -EIO;
  }
}
