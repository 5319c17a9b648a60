import { EAGAIN, EBADF, ECANCELED, EIO } from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { PENDING, type Call } from '../kernel.js';
import type { VirtualClock, Timer } from './clock.js';
import type { VirtualProcess } from './process.js';
import type { WaitQueue, Watcher } from './wait-queue.js';

/** How a call waits. */
export interface ParkOptions {
  /** The descriptor the call waits on (closing it ends the wait with EBADF), or -1. */
  readonly fd: number;
  /** Objects whose changes may let the call finish. */
  readonly queues: readonly WaitQueue[];
  /** Retries the call after a change: its result, or PENDING to keep waiting. */
  readonly attempt: () => number;
  /** Monotonic deadline in ns; `timeout` gives the result when it passes. */
  readonly deadline?: number;
  readonly timeout?: () => number;
  /**
   * The result when the wait is interrupted (cancelled, its descriptor closed, or refused for too many
   * waiting calls) with `errno`. Default: -errno. Calls that already moved data return the count.
   */
  readonly interrupted?: (errno: number) => number;
  /** Undoes side effects of waiting (e.g. leaving a listener's connect queue) when the wait ends early. */
  readonly abandon?: () => void;
}

/** A parked call. */
export class Waiter implements Watcher {
  done = false;
  timer: Timer | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    readonly proc: VirtualProcess,
    readonly call: Call,
    readonly options: ParkOptions,
  ) {}

  notify(): void {
    if (!this.done) this.scheduler.schedule(this);
  }
}

/**
 * Parks calls and completes them. Objects only notify; the retries run afterwards, in notification
 * order, from `flush` (at the end of every syscall, cancellation and timer tick), so no object is
 * re-entered while it changes state and a cascade of wakeups settles before control returns.
 *
 * A call parked by the syscall now running may be completed while its wakeups settle (a blocking
 * pipe write that a parked reader drains at once): then its result is returned directly instead of
 * PENDING, so `complete` is never called before syscall() has returned.
 */
export class Scheduler {
  private readonly runnable = new Set<Waiter>();
  private inflight: Call | null = null;
  private inflightWaiter: Waiter | null = null;
  private inflightResult: number | null = null;

  constructor(
    private readonly clock: VirtualClock,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * Runs one system call: converts thrown errors to -errno and settles the wakeups it caused.
   * (Takes the handler and its arguments rather than a closure: this is the hot path of every call.)
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

  /** Parks `call`; returns PENDING (or the interrupted result when the process has too many waiting calls). */
  park(proc: VirtualProcess, call: Call, options: ParkOptions): number {
    if (proc.parked.size >= proc.spec.limits.maxPending) {
      const r = options.interrupted ? options.interrupted(EAGAIN) : -EAGAIN;
      options.abandon?.();
      return r;
    }
    const w = new Waiter(this, proc, call, options);
    for (const q of options.queues) q.add(w);
    if (options.deadline !== undefined) {
      const timeout = options.timeout ?? (() => 0);
      w.timer = this.clock.arm(options.deadline, () => {
        w.timer = null;
        options.abandon?.();
        this.finish(w, timeout());
      });
    }
    proc.addParked(w);
    call.onCancel = () => {
      if (w.done) return;
      this.interrupt(w, ECANCELED);
      this.flush();
    };
    if (call === this.inflight) this.inflightWaiter = w;
    return PENDING;
  }

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
      let r: number;
      try {
        r = w.options.attempt();
      } catch (e) {
        r = this.errorResult(e);
      }
      if (r !== PENDING) this.finish(w, r);
    }
  }

  /** Ends every wait of `proc` on descriptor `fd` with EBADF (the descriptor is being closed). */
  closeFd(proc: VirtualProcess, fd: number): void {
    const waiting = proc.parkedOnFd.get(fd);
    if (waiting !== undefined) for (const w of [...waiting]) this.interrupt(w, EBADF);
  }

  /** Forgets every waiting call of `proc` without completing it (detach). */
  dropAll(proc: VirtualProcess): void {
    for (const w of [...proc.parked]) this.drop(w);
  }

  private interrupt(w: Waiter, errno: number): void {
    const r = w.options.interrupted ? w.options.interrupted(errno) : -errno;
    w.options.abandon?.();
    this.finish(w, r);
  }

  private drop(w: Waiter): void {
    w.options.abandon?.();
    this.retire(w);
  }

  private finish(w: Waiter, result: number): void {
    if (w.done) return;
    this.retire(w);
    if (w.call === this.inflight) this.inflightResult = result;
    else w.call.complete(result);
  }

  private retire(w: Waiter): void {
    w.done = true;
    for (const q of w.options.queues) q.remove(w);
    if (w.timer !== null) {
      this.clock.cancel(w.timer);
      w.timer = null;
    }
    this.runnable.delete(w);
    w.proc.removeParked(w);
    w.call.onCancel = null;
  }

  private errorResult(e: unknown): number {
    if (e instanceof SysError) return -e.errno;
    this.log(`virtual kernel: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return -EIO;
  }
}
