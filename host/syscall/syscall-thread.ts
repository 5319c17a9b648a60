import { performance } from 'node:perf_hooks';
import { internalError } from '../errors.js';
import { completesOnEventLoop, virtualTimeOf } from '../kernel/capabilities.js';
import type { Kernel, Limits } from '../kernel/kernel.js';
import { ColocatedCalls } from '../placement/colocated-calls.js';
import { FWD_CANCEL, FWD_EXECUTE } from '../placement/forward-ring.js';
import { Forwarder, HomeInbox } from '../placement/home.js';
import { VirtualTimeIdleness } from '../placement/virtual-time.js';
import { CallRunner } from './call-runner.js';
import { Completions } from './completions.js';
import type { ServedGuest } from './served-guest.js';
import { Scanner, type ClaimTarget } from './scanner.js';
import { Sleeper } from './sleeper.js';
import type { VmShared } from './vm-shared.js';

export interface SyscallThreadOptions {
  readonly index: number;
  readonly count: number;
  /** The kernel instance on this thread, or null for a thread that forwards to the home thread. */
  readonly kernel: Kernel | null;
  /**
   * Every syscall thread runs its own kernel instance (the os kernel), so several threads execute
   * one guest's calls; otherwise only this thread does (the virtual kernel's home thread).
   */
  readonly kernelPerThread?: boolean;
  readonly shared: VmShared;
  /** Idle time spent polling before sleeping, in microseconds. */
  readonly spinUs: number;
  readonly limits: Limits;
  /** Poll on its own (default). Tests turn it off and drive `pass()` by hand. */
  readonly autoRun?: boolean;
  /** Called with every completed call, like strace (flexvm run --trace). */
  readonly trace?: (line: string) => void;
  log(message: string): void;
}

/**
 * One syscall thread (paper section 3.2.1) of the JavaScript executor: polls the syscall pages it
 * owns in every registered guest, claims SUBMITTED entries in submission order (Scanner), executes
 * them against its kernel (CallRunner) or forwards them to the kernel's home thread (Forwarder),
 * writes results back (Completions) and wakes a guest only if it waits. After a spin without work it
 * announces that it sleeps and waits for a doorbell (Sleeper).
 *
 * It runs on a Node event loop: the polling loop yields to the loop regularly so that messages and,
 * for the os kernel, I/O completions are processed.
 */
export class SyscallThread implements ClaimTarget {
  readonly index: number;
  private readonly kernel: Kernel | null;
  private readonly guests = new Map<number, ServedGuest>();
  private readonly list: ServedGuest[] = [];
  private readonly completions: Completions;
  private readonly scanner: Scanner;
  private readonly sleeper: Sleeper;
  /** Executes calls: null on a thread that forwards them. */
  private readonly runner: CallRunner | null;
  /** Forwarding thread of a home kernel. */
  private readonly forwarder: Forwarder | null;
  /** Home thread: the forwarding threads' rings, and virtual-time idleness. */
  private readonly inbox: HomeInbox | null;
  private readonly idleness: VirtualTimeIdleness | null;
  /** The calls of guests running on this thread (epoll mode beside its kernel). */
  readonly colocated: ColocatedCalls | null;
  /** The kernel completes calls from the event loop: yield to it between passes. */
  private readonly eventLoopIo: boolean;
  private running = false;
  private lastWork = 0;
  private closed = false;

  constructor(private readonly options: SyscallThreadOptions) {
    this.index = options.index;
    this.kernel = options.kernel;
    this.completions = new Completions(options.trace);
    this.scanner = new Scanner(this.index, this, this.completions, options.log);
    this.sleeper = new Sleeper(options.shared, this.index, this.list, options.spinUs, options.count);
    const kernel = options.kernel;
    this.runner = kernel ? new CallRunner(kernel, this.completions, options.limits, options.log) : null;
    this.forwarder = kernel ? null : new Forwarder(options.shared.ring(this.index), options.shared);
    const isHome = this.index === 0 && this.runner !== null;
    this.inbox = isHome ? new HomeInbox(options.shared, options.count, (gid) => this.guests.get(gid), this.runner!) : null;
    const time = virtualTimeOf(kernel);
    this.idleness = isHome && time ? new VirtualTimeIdleness(time, options.shared, this.list, this.inbox!) : null;
    this.eventLoopIo = completesOnEventLoop(kernel);
    this.colocated = this.runner ? new ColocatedCalls(this.index, this.runner, () => this.wake()) : null;
  }

  // ------------------------------------------------------------------ guests

  attach(served: ServedGuest): void {
    served.countsShared = served.threads > 1 && this.options.kernelPerThread === true;
    this.guests.set(served.gid, served);
    this.list.push(served);
    this.inbox?.arrived(served);
    this.wake();
  }

  /** Forgets a guest; returns its per-syscall counts on this thread. */
  detach(gid: number): Record<number, [number, number]> | null {
    this.inbox?.left(gid);
    const served = this.guests.get(gid);
    if (!served) return null;
    served.attached = false;
    this.guests.delete(gid);
    this.list.splice(this.list.indexOf(served), 1);
    served.inflight.clear();
    if (this.kernel && served.proc !== null) {
      try {
        this.kernel.detach(served.proc);
      } catch (err) {
        this.options.log(internalError(`kernel detach of ${served.name} failed: ${(err as Error).message}`));
      }
    }
    return served.countsBySysno();
  }

  guest(gid: number): ServedGuest | undefined {
    return this.guests.get(gid);
  }

  // ------------------------------------------------------------------ where claimed entries go

  /** ClaimTarget: run a claimed entry here, or forward it to the home thread. */
  claimed(g: ServedGuest, index: number): void {
    if (this.runner) this.runner.execute(g, index, this.index);
    else this.forwarder!.forward(g.gid, index, FWD_EXECUTE);
  }

  cancel(g: ServedGuest, index: number): void {
    if (this.runner) this.runner.interrupt(g, index);
    else this.forwarder!.forward(g.gid, index, FWD_CANCEL);
  }

  get caughtUp(): boolean {
    return this.forwarder === null || this.forwarder.caughtUp;
  }

  // ------------------------------------------------------------------ the loop

  /** Starts polling now (after a message, a doorbell, or an attach). */
  wake(): void {
    if (this.closed || this.options.autoRun === false) return;
    if (this.sleeper.sleeping) this.sleeper.endSleep();
    if (!this.running) {
      this.running = true;
      this.lastWork = performance.now();
      setImmediate(this.loop);
    }
  }

  close(): void {
    this.closed = true;
    this.sleeper.close();
  }

  private readonly loop = (): void => {
    if (this.closed) {
      this.running = false;
      return;
    }
    const start = performance.now();
    // Yield to the event loop at least this often while busy, at once when the kernel awaits I/O.
    const asynchronous = this.eventLoopIo;
    const turn = asynchronous ? 0.2 : 4;
    let sawWork = false;
    for (let i = 1; ; i++) {
      const work = this.pass();
      if (work > 0) sawWork = true;
      else if (asynchronous) {
        if (sawWork) this.lastWork = performance.now();
        this.completions.runResumes();
        if (performance.now() - this.lastWork > this.sleeper.spinMs && this.caughtUp) break;
        setImmediate(this.loop);
        return;
      }
      // Reading the clock costs as much as a pass: look at it every 16 passes.
      if ((i & 15) !== 0) continue;
      const now = performance.now();
      if (sawWork) {
        this.lastWork = now;
        sawWork = false;
      } else if (this.idleness?.advance()) {
        this.lastWork = now;
        continue;
      }
      this.completions.runResumes();
      if (now - this.lastWork > this.sleeper.spinMs && this.caughtUp) break;
      if (now - start > turn) {
        setImmediate(this.loop);
        return;
      }
    }
    this.running = false;
    this.sleeper.sleep(this.recheck, this.sleepTimeout, this.woken);
  };

  /** Work that raced the needs-wakeup flags: the guest posted before it could see them. */
  private readonly recheck = (): boolean => this.pass() > 0 || this.idleness?.advance() === true;
  /** Bounded waits: a timer-driven home thread re-checks idleness; others wake at least once a second. */
  private readonly sleepTimeout = (): number => (this.idleness?.armed ? 1 : 1000);
  private readonly woken = (): void => this.wake();

  // ------------------------------------------------------------------ one pass

  /** Scans every guest once (and the forward rings on the home thread). Returns the work found. */
  pass(): number {
    let work = 0;
    this.completions.inPass = true;
    try {
      for (let i = 0; i < this.list.length; i++) {
        const g = this.list[i]!;
        if (g.scanned) work += this.scanner.scanGuest(g);
      }
      if (this.inbox) work += this.inbox.drain();
      if (this.forwarder && !this.forwarder.caughtUp) {
        work += this.forwarder.retryBacklog();
        if (this.forwarder.caughtUp) for (const g of this.list) if (g.scanned) this.scanner.publishNextSeq(g);
      }
    } finally {
      this.completions.inPass = false;
      this.completions.flushPass();
    }
    return work;
  }
}
