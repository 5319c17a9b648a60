import { EAGAIN, EBADF, ECANCELED, EIO } from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { PENDING, type Call } from '../kernel.js';
import type { Description, Watcher } from './description.js';
import { errnoOf, isSystemError } from './errno.js';
import type { OsProcess } from './process.js';
import { Deadline } from './timer.js';

/** How a call waits. */
export interface ParkOptions {
  /** The descriptor the call waits on (closing it ends the wait with EBADF), or -1. */
  readonly fd: number;
  /** Objects whose changes may let the call finish. */
  readonly on: readonly Description[];
  /** Retries the call after a change: its result, or PENDING to keep waiting. */
  readonly attempt: () => number;
  /** Monotonic deadline (ms, see timer.ts); `timeout` gives the result when it passes. */
  readonly deadlineMs?: number;
  readonly timeout?: () => number;
  /**
   * The result when the wait is interrupted (cancelled, its descriptor closed, or refused for too many
   * waiting calls) with `errno`. Default: -errno. Calls that already moved data return the count.
   */
  readonly interrupted?: (errno: number) => number;
  /** Undoes side effects of waiting (e.g. a connection attempt) when the wait ends early. */
  readonly abandon?: () => void;
  /** Receives the parked call's waiter (a job that finishes steps of its own pokes it). */
  readonly onParked?: (w: Waiter) => void;
}

/** A parked call. */
export class Waiter implements Watcher {
  done = false;
  deadline: Deadline | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    readonly proc: OsProcess,
    readonly call: Call,
    readonly options: ParkOptions,
  ) {}

  /** Re-runs the attempt (an object changed, or a job such as sendfile finished a step of its own). */
  notify(): void {
    if (!this.done) this.scheduler.schedule(this);
  }
}

/**
 * Parks calls and completes them. Objects only notify their watchers; the retries run afterwards, in
 * notification order, from `flush`: at the end of every system call, or at once when the change came
 * from the event loop (data arrived, a timer fired). So no object is re-entered while it changes
 * state, and a call parked by the system call now running is never completed before syscall()
 * returns: its result is returned directly instead of PENDING.
 */
export class Scheduler {
  private readonly runnable = new Set<Waiter>();
  private inSyscall = 0;
  private flushing = false;
  private inflight: Call | null = null;
  private inflightWaiter: Waiter | null = null;
  private inflightResult: number | null = null;

  constructor(private readonly log: (message: string) => void) {}

  /** Runs one system call: converts thrown errors to -errno and settles the wakeups it caused. */
  run(call: Call, handler: () => number): number {
    const outer = [this.inflight, this.inflightWaiter, this.inflightResult] as const;
    this.inflight = call;
    this.inflightWaiter = null;
    this.inflightResult = null;
    this.inSyscall++;
    let result: number;
    try {
      result = handler();
    } catch (e) {
      result = this.errorResult(e);
      // A handler must not fail after parking; if one does, the parked copy must never complete.
      const parked = this.inflightWaiter as Waiter | null;
      if (parked !== null && !parked.done) this.drop(parked);
    } finally {
      this.inSyscall--;
    }
    this.flush();
    if (result === PENDING && this.inflightResult !== null) result = this.inflightResult;
    [this.inflight, this.inflightWaiter, this.inflightResult] = outer;
    return result;
  }

  /** Parks `call`; returns PENDING (or the interrupted result when the process has too many waiting calls). */
  park(proc: OsProcess, call: Call, options: ParkOptions): number {
    if (proc.parked.size >= proc.spec.limits.maxPending) {
      const r = options.interrupted ? options.interrupted(EAGAIN) : -EAGAIN;
      options.abandon?.();
      return r;
    }
    const w = new Waiter(this, proc, call, options);
    for (const d of options.on) d.addWatcher(w);
    if (options.deadlineMs !== undefined) {
      const timeout = options.timeout ?? (() => 0);
      w.deadline = new Deadline(options.deadlineMs, () => {
        w.deadline = null;
        if (w.done) return;
        this.finish(w, this.guarded(timeout), true);
      });
    }
    proc.addParked(w);
    call.onCancel = () => {
      if (w.done) return;
      this.interrupt(w, ECANCELED);
      this.flush();
    };
    if (call === this.inflight) this.inflightWaiter = w;
    options.onParked?.(w);
    return PENDING;
  }

  schedule(w: Waiter): void {
    this.runnable.add(w);
    if (this.inSyscall === 0) this.flush();
  }

  /** Retries notified calls until nothing more can progress. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const next = this.runnable.values().next();
        if (next.done) return;
        const w = next.value;
        this.runnable.delete(w);
        if (w.done) continue;
        const r = this.guarded(w.options.attempt);
        if (r !== PENDING) this.finish(w, r);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Ends every wait of `proc` on descriptor `fd` with EBADF (the descriptor is being closed). */
  closeFd(proc: OsProcess, fd: number): void {
    const waiting = proc.parkedOnFd.get(fd);
    if (waiting !== undefined) for (const w of [...waiting]) this.interrupt(w, EBADF);
  }

  /** Forgets every waiting call of `proc` without completing it (detach). */
  dropAll(proc: OsProcess): void {
    for (const w of [...proc.parked]) this.drop(w);
  }

  /** The result of a failed operation: -errno, or -EIO (logged) for a bug. */
  errorResult(e: unknown): number {
    if (isSystemError(e)) return -errnoOf(e);
    this.log(`os kernel: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return -EIO;
  }

  private guarded(op: () => number): number {
    try {
      return op();
    } catch (e) {
      return e instanceof SysError ? -e.errno : this.errorResult(e);
    }
  }

  private interrupt(w: Waiter, errno: number): void {
    const r = w.options.interrupted ? w.options.interrupted(errno) : -errno;
    this.finish(w, r, true);
  }

  private drop(w: Waiter): void {
    if (w.done) return;
    this.retire(w);
    w.options.abandon?.();
  }

  /**
   * Ends a wait with `result`. `abandon` (an interrupted or timed-out wait) undoes the wait's side
   * effects, after the waiter is retired so that the changes it causes cannot complete it again.
   */
  private finish(w: Waiter, result: number, abandon = false): void {
    if (w.done) return;
    this.retire(w);
    if (abandon) w.options.abandon?.();
    if (w.call === this.inflight) this.inflightResult = result;
    else w.call.complete(result);
  }

  private retire(w: Waiter): void {
    w.done = true;
    for (const d of w.options.on) d.removeWatcher(w);
    w.deadline?.cancel();
    w.deadline = null;
    this.runnable.delete(w);
    w.proc.removeParked(w);
    w.call.onCancel = null;
  }
}
