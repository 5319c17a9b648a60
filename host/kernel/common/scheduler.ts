import { EAGAIN, EBADF, ECANCELED, EIO, ENOSYS, ESRCH } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { PENDING, type Call, type ProcessSpec } from '../kernel.js';
import type { Waitable, Watcher } from './description.js';
import type { DispatchTable } from './dispatch.js';

/** How a call waits. */
export interface ParkOptions {
  /** The descriptor the call waits on (closing it ends the wait with EBADF), or -1. */
  readonly fd: number;
  /** Objects whose changes may let the call finish. */
  readonly on: readonly Waitable[];
  /** Retries the call after a change: its result, or PENDING to keep waiting. */
  readonly attempt: () => number;
  /** Monotonic deadline, on the scale of the scheduler's Timers; `timeout` gives the result when it passes. */
  readonly deadline?: number;
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

/**
 * The clock deadlines are measured on. The kernels differ here: the virtual kernel counts virtual
 * nanoseconds and fires timers when the runtime reports everyone idle; the os kernel counts real
 * milliseconds (performance.now) and arms Node timers.
 */
export interface Timers {
  /** The monotonic clock now, on the deadline scale. */
  now(): number;
  /** The deadline `ns` nanoseconds from now. */
  afterNs(ns: number): number;
  /** Nanoseconds left until `deadline` (0 once it has passed). */
  nsLeft(deadline: number): number;
  /** Calls `fire` once `deadline` has passed (never from inside arm). */
  arm(deadline: number, fire: () => void): object;
  cancel(timer: object): void;
}

/** What the scheduler keeps per process: its parked calls, and the limit on how many. */
export interface ParkingProcess {
  readonly spec: ProcessSpec;
  readonly parked: ReadonlySet<Waiter>;
  readonly parkedOnFd: ReadonlyMap<number, ReadonlySet<Waiter>>;
  addParked(w: Waiter): void;
  removeParked(w: Waiter): void;
}

/** A parked call. */
export class Waiter implements Watcher {
  done = false;
  timer: object | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    readonly proc: ParkingProcess,
    readonly call: Call,
    readonly options: ParkOptions,
  ) {}

  /** Re-runs the attempt (an object changed, or a job such as sendfile finished a step of its own). */
  notify(): void {
    if (!this.done) this.scheduler.schedule(this);
  }
}

export interface SchedulerOptions {
  /** Prefix of internal-error log lines ("virtual kernel", "os kernel"). */
  readonly name: string;
  readonly timers: Timers;
  readonly log: (message: string) => void;
  /**
   * The errno of an error that is not a SysError but still a failure to report (the os kernel: Node's
   * fs and net errors), or 0 for a bug (logged, -EIO).
   */
  readonly errnoOf?: (e: unknown) => number;
}

/**
 * Parks calls and completes them. Objects only notify their watchers; the retries run afterwards, in
 * notification order, from `flush` (at the end of every system call, cancellation and timer tick),
 * so no object is re-entered while it changes state and a cascade of wakeups settles before control
 * returns. A call parked by the system call now running may be completed while its wakeups settle (a
 * blocking pipe write that a parked reader drains at once): then its result is returned directly
 * instead of PENDING, so `complete` is never called before syscall() has returned.
 *
 * Notifications made outside a system call are only queued here; the virtual kernel flushes them
 * itself at the end of detach and idle, so the order of retries depends on nothing but the calls
 * (and when a standard stream's sink drains, the one change that comes from outside).
 * The os kernel, whose changes come from the event loop, uses EventLoopScheduler (os/scheduler.ts).
 */
export class Scheduler {
  readonly timers: Timers;
  protected readonly runnable = new Set<Waiter>();
  private inflight: Call | null = null;
  private inflightWaiter: Waiter | null = null;
  private inflightResult: number | null = null;
  private readonly name: string;
  private readonly log: (message: string) => void;
  private readonly errnoOf: ((e: unknown) => number) | undefined;

  constructor(options: SchedulerOptions) {
    this.name = options.name;
    this.timers = options.timers;
    this.log = options.log;
    this.errnoOf = options.errnoOf;
  }

  /**
   * Runs one system call: converts thrown errors to -errno and settles the wakeups it caused.
   * (Takes the handler and its arguments rather than a closure: this is the hot path of every call,
   * and it allocates nothing.)
   */
  run<K, P>(call: Call, handler: (k: K, p: P, c: Call) => number, k: K, p: P): number {
    // Saved and restored, so a completion callback that re-enters the kernel cannot confuse us.
    const outerCall = this.inflight;
    const outerWaiter = this.inflightWaiter;
    const outerResult = this.inflightResult;
    this.inflight = call;
    this.inflightWaiter = null;
    this.inflightResult = null;
    let result: number;
    try {
      result = handler(k, p, call);
    } catch (e) {
      result = this.errorResult(e);
      // A handler must not fail after parking; if one does, the parked copy must never complete.
      const parked = this.inflightWaiter as Waiter | null;
      if (parked !== null && !parked.done) this.drop(parked);
    }
    if (this.runnable.size !== 0) this.flush();
    if (result === PENDING && this.inflightResult !== null) result = this.inflightResult;
    this.inflight = outerCall;
    this.inflightWaiter = outerWaiter;
    this.inflightResult = outerResult;
    return result;
  }

  /**
   * Kernel.syscall: ESRCH for a detached process, ENOSYS for a number without a handler, else the
   * handler through run(). (A method rather than a free function: measured, the free function cost
   * about half a nanosecond more per call on the null-syscall path.)
   */
  dispatch<K, P extends { readonly alive: boolean }>(table: DispatchTable<K, P>, k: K, p: P, call: Call): number {
    if (!p.alive) return -ESRCH;
    const sysno = call.sysno;
    const handler = Number.isInteger(sysno) && sysno >= 0 ? table[sysno] : undefined;
    if (handler === undefined) return -ENOSYS;
    return this.run(call, handler, k, p);
  }

  /** Parks `call`; returns PENDING (or the interrupted result when the process has too many waiting calls). */
  park(proc: ParkingProcess, call: Call, options: ParkOptions): number {
    if (proc.parked.size >= proc.spec.limits.maxPending) {
      const r = options.interrupted ? options.interrupted(EAGAIN) : -EAGAIN;
      options.abandon?.();
      return r;
    }
    const w = new Waiter(this, proc, call, options);
    for (const d of options.on) d.addWatcher(w);
    if (options.deadline !== undefined) {
      const timeout = options.timeout ?? (() => 0);
      w.timer = this.timers.arm(options.deadline, () => {
        w.timer = null;
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

  /** A system call is running (its handler, or the flush that settles it). */
  protected get inSyscall(): boolean {
    return this.inflight !== null;
  }

  /** A parked call was notified: queue its retry. */
  schedule(w: Waiter): void {
    this.runnable.add(w);
  }

  /** Retries notified calls until nothing more can progress. */
  flush(): void {
    for (;;) {
      const next = this.runnable.values().next();
      if (next.done) return;
      const w = next.value;
      this.runnable.delete(w);
      if (w.done) continue;
      const r = this.guarded(w.options.attempt);
      if (r !== PENDING) this.finish(w, r);
    }
  }

  /** Ends every wait of `proc` on descriptor `fd` with EBADF (the descriptor is being closed). */
  closeFd(proc: ParkingProcess, fd: number): void {
    const waiting = proc.parkedOnFd.get(fd);
    if (waiting !== undefined) for (const w of [...waiting]) this.interrupt(w, EBADF);
  }

  /** Forgets every waiting call of `proc` without completing it (detach). */
  dropAll(proc: ParkingProcess): void {
    for (const w of [...proc.parked]) this.drop(w);
  }

  /** The result of a failed operation: -errno, or -EIO (logged) for a bug. */
  errorResult(e: unknown): number {
    if (e instanceof SysError) return -e.errno;
    const errno = this.errnoOf?.(e) ?? 0;
    if (errno !== 0) return -errno;
    this.log(`${this.name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return -EIO;
  }

  private guarded(op: () => number): number {
    try {
      return op();
    } catch (e) {
      return this.errorResult(e);
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
    if (w.timer !== null) {
      this.timers.cancel(w.timer);
      w.timer = null;
    }
    this.runnable.delete(w);
    w.proc.removeParked(w);
    w.call.onCancel = null;
  }
}
