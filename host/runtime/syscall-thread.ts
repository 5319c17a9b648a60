import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  ST_SUBMITTED, ST_BUSY, ST_DONE, ST_CANCEL, ECANCELED, EAGAIN, EIO, SYS_close,
  EW_STATUS, EW_SYSNO, EW_ARG0, EW_ARG1, EW_ARG2, EW_ARG3, EW_ARG4, EW_ARG5, EW_RET, EW_RET_HI, EW_FLAGS, EW_SEQ,
  EW_THREAD, EW_HOST, T_SQ_TAIL, T_CANCEL_TAIL, T_DOORBELL, T_NEEDS_WAKEUP,
  H_CLAIMED, H_COMPLETED, H_BATCHES, H_SCANS, H_SLEEPS, H_WAKEUPS, H_NOTIFIES, H_CANCEL_WON, H_CANCEL_LOST,
  H_NEXT_SEQ, ENTRIES_PER_PAGE, THREAD_LINES, HOST_LINES, SYSCALLS, ERRNO_NAMES, EF_NOWAIT,
} from '../abi/v1.js';
import { PENDING, type Kernel, type Limits } from '../kernel/kernel.js';
import { SysError } from '../kernel/errors.js';
import { EntryCall, type CallSink } from './entry-call.js';
import { GC_DIAGNOSTICS, GC_DIAGNOSTICS_SUPPRESSED, GC_PENDING, SYSNO_LIMIT, type GuestSlot } from './guest-slot.js';
import { FWD_CANCEL, FWD_EXECUTE, type ForwardRing, type VmShared } from './vm-shared.js';
import { BellWaiter } from './bell-waiter.js';

const NAMES = new Map(SYSCALLS.map((s) => [s.nr, s]));

/** `pid name(args) = result`, with arguments as the ABI table names them. */
function traceLine(g: GuestSlot, call: EntryCall, result: number): string {
  const info = NAMES.get(call.sysno);
  const slots = [call.a0, call.a1, call.a2, call.a3, call.a4, call.a5];
  const args = info
    ? info.args.map((a) => (a.type === 'i64' ? String(slots[a.slot + 1]! * TWO_32 + (slots[a.slot]! >>> 0)) : a.type === 'ptr' || a.type === 'cstr' ? `0x${(slots[a.slot]! >>> 0).toString(16)}` : String(slots[a.slot])))
    : slots.map(String);
  const err = result < 0 ? ` ${ERRNO_NAMES[-result] ?? ''}` : '';
  return `[${g.pid}] ${info?.name ?? `syscall_${call.sysno}`}(${args.join(', ')})${call.flags ? ' NOWAIT' : ''} = ${result}${err} (thread ${call.thread})`;
}

/** Host-private bookkeeping in an entry's `host` word. */
const HOST_CLAIMED = 1;
const HOST_CANCEL_SEEN = 2;

/** Adaptive idle polling (SyscallThread.spinMs): its ceiling, and what counts as a short or long sleep. */
const MAX_SPIN_MS = 2;
const SHORT_SLEEP_MS = 1;
const LONG_SLEEP_MS = 50;
const TWO_32 = 0x1_0000_0000;

/** Takes a place in a guest's shared count of calls in flight, if one is left under `max`. */
function takeSharedPlace(counters: Int32Array, max: number): boolean {
  if (Atomics.add(counters, GC_PENDING, 1) < max) return true;
  Atomics.sub(counters, GC_PENDING, 1);
  return false;
}

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
 * One syscall thread (paper section 3.2.1): polls the syscall pages it owns in every registered
 * guest, claims SUBMITTED entries in submission order, executes them against its kernel (or forwards
 * them to the kernel's home thread), writes results back and wakes a guest only if it waits. After
 * `spinUs` without work it sets its needs-wakeup flag in every guest and sleeps until a doorbell.
 *
 * It runs on a Node event loop: the polling loop yields to the loop regularly so that messages and,
 * for the os kernel, I/O completions are processed.
 */
export class SyscallThread implements CallSink {
  readonly index: number;
  private readonly kernel: Kernel | null;
  private readonly shared: VmShared;
  private readonly guests = new Map<number, GuestSlot>();
  private readonly list: GuestSlot[] = [];
  /** Reusable: entry indices of one scan, by seq offset. */
  private bySeq = new Int32Array(256).fill(-1);
  private inPass = false;
  private readonly toFlush: GuestSlot[] = [];
  private readonly rings: ForwardRing[] = [];
  private readonly outRing: ForwardRing | null;
  /** Records a full forward ring could not take yet. */
  private readonly backlog: [number, number, number][] = [];
  private running = false;
  private sleeping = false;
  private sleepGeneration = 0;
  private lastWork = 0;
  /**
   * How long to keep polling without work before sleeping: adaptive between the configured spin and
   * MAX_SPIN_MS. A doorbell soon after falling asleep means the sleep cost a wake-up (13-20 µs and
   * an event-loop turn) for a pause a little longer spinning would have covered: spin twice as
   * long. A long sleep means the thread is really idle: halve it. With several syscall threads a
   * guest's calls reach each thread in bursts with short gaps, and without this the threads slept
   * between bursts (file reads did not scale with threads: docs/os-kernel.md). Only where there are
   * enough cores (see the constructor).
   */
  private spinMs: number;
  private readonly minSpinMs: number;
  private readonly maxSpinMs: number;
  private sleptAt = 0;
  private readonly resumes: (() => void)[] = [];
  private readonly ownWaiter = new BellWaiter();
  /** A finished call to reuse for the next one. */
  private spare: EntryCall | null = null;
  /** A flush of completions that arrived outside a pass is scheduled for this event-loop turn. */
  private flushScheduled = false;
  private closed = false;
  private keepAlive: NodeJS.Timeout | null = null;
  /**
   * Home thread: entries forwarded for a guest whose attach message has not reached this thread yet
   * (every thread is told separately), run when it arrives; and the guests that left (their late
   * records are dropped).
   */
  private readonly early = new Map<number, [number, number, number][]>();
  private readonly gone = new Set<number>();

  constructor(private readonly options: SyscallThreadOptions) {
    this.index = options.index;
    this.kernel = options.kernel;
    this.shared = options.shared;
    this.minSpinMs = options.spinUs / 1000;
    // Longer polling only pays where every syscall thread and a guest have a core each: on fewer
    // cores, spinning threads take the cores the working ones need (measured: 4 threads on 2 cores
    // read files 5 times slower with it).
    const cores = availableParallelism();
    this.maxSpinMs = options.count + 1 <= cores ? Math.max(this.minSpinMs, MAX_SPIN_MS) : this.minSpinMs;
    this.spinMs = this.minSpinMs;
    if (this.isHome) for (let t = 1; t < options.count; t++) this.rings.push(options.shared.ring(t));
    this.outRing = this.kernel ? null : options.shared.ring(this.index);
  }

  /** The thread that executes calls (the virtual kernel's home, or any os-kernel thread). */
  get executes(): boolean {
    return this.kernel !== null;
  }
  private get isHome(): boolean {
    return this.index === 0 && this.kernel !== null;
  }

  // ------------------------------------------------------------------ guests

  attach(slot: GuestSlot): void {
    slot.countsShared = slot.threads > 1 && this.options.kernelPerThread === true;
    this.guests.set(slot.gid, slot);
    this.list.push(slot);
    const early = this.early.get(slot.gid);
    if (early) {
      this.early.delete(slot.gid);
      for (const [index, kind, from] of early) this.onForwarded(slot.gid, index, kind, from);
    }
    this.wake();
  }

  /** Forgets a guest; returns its per-syscall counts on this thread. */
  detach(gid: number): Record<number, [number, number]> | null {
    this.early.delete(gid);
    this.gone.add(gid);
    const slot = this.guests.get(gid);
    if (!slot) return null;
    slot.attached = false;
    this.guests.delete(gid);
    this.list.splice(this.list.indexOf(slot), 1);
    slot.inflight.clear();
    if (this.kernel && slot.proc !== null) {
      try {
        this.kernel.detach(slot.proc);
      } catch (err) {
        this.options.log(`kernel detach of ${slot.name} failed: ${(err as Error).message}`);
      }
    }
    return slot.countsBySysno();
  }

  guest(gid: number): GuestSlot | undefined {
    return this.guests.get(gid);
  }

  // ------------------------------------------------------------------ the loop

  /** Starts polling now (after a message, a doorbell, or an attach). */
  wake(): void {
    if (this.closed || this.options.autoRun === false) return;
    if (this.sleeping) this.endSleep();
    if (!this.running) {
      this.running = true;
      this.lastWork = performance.now();
      setImmediate(this.loop);
    }
  }

  close(): void {
    this.closed = true;
    this.sleepGeneration++;
    if (this.keepAlive) clearInterval(this.keepAlive);
  }

  private readonly loop = (): void => {
    if (this.closed) {
      this.running = false;
      return;
    }
    const start = performance.now();
    // Yield to the event loop at least this often while busy, at once when the kernel awaits I/O.
    const asynchronous = this.kernel?.asynchronous === true;
    const turn = asynchronous ? 0.2 : 4;
    let sawWork = false;
    for (let i = 1; ; i++) {
      const work = this.pass();
      if (work > 0) sawWork = true;
      else if (asynchronous) {
        if (sawWork) this.lastWork = performance.now();
        this.runResumes();
        if (performance.now() - this.lastWork > this.spinMs && this.backlog.length === 0) break;
        setImmediate(this.loop);
        return;
      }
      // Reading the clock costs as much as a pass: look at it every 16 passes.
      if ((i & 15) !== 0) continue;
      const now = performance.now();
      if (sawWork) {
        this.lastWork = now;
        sawWork = false;
      } else if (this.isHome && this.idleAdvance()) {
        this.lastWork = now;
        continue;
      }
      this.runResumes();
      if (now - this.lastWork > this.spinMs && this.backlog.length === 0) break;
      if (now - start > turn) {
        setImmediate(this.loop);
        return;
      }
    }
    this.running = false;
    this.sleep();
  };

  /** Sets needs-wakeup everywhere, re-checks for work (no lost wake-up), then waits for a doorbell. */
  private sleep(): void {
    const i32 = this.shared.i32;
    const ownBell = this.shared.doorbellWord(this.index);
    const ownSeen = Atomics.load(i32, ownBell);
    Atomics.store(i32, this.shared.needsWakeupWord(this.index), 1);
    const bells: [GuestSlot, number, number][] = [];
    for (const g of this.list) {
      if (!g.scanned) continue;
      const bell = g.lineW + (T_DOORBELL >> 2);
      bells.push([g, bell, Atomics.load(g.i32, bell)]);
      Atomics.store(g.i32, g.lineW + (T_NEEDS_WAKEUP >> 2), 1);
    }
    // Work that raced the flags: the guest posted before it could see them.
    if (this.pass() > 0 || (this.isHome && this.idleAdvance())) {
      this.clearNeedsWakeup();
      this.wake();
      return;
    }
    this.sleeping = true;
    this.sleptAt = performance.now();
    const generation = ++this.sleepGeneration;
    for (const g of this.list) if (g.scanned) g.i32[g.hostW + (H_SLEEPS >> 2)]!++;
    // Bounded waits: a timer-driven home thread re-checks idleness; others wake at least once a second.
    const timeout = this.isHome && this.kernel?.hasTimers?.() ? 1 : 1000;
    const waits = [this.ownWaiter.watch(i32, ownBell, ownSeen, timeout)];
    for (const [g, bell, seen] of bells) waits.push(g.bellWaiter.watch(g.i32, bell, seen, timeout));
    if (!this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30); // waitAsync alone keeps no worker alive
    void Promise.race(waits).then((how) => {
      if (generation !== this.sleepGeneration || !this.sleeping) return;
      if (how === 'ok') for (const g of this.list) if (g.scanned) g.i32[g.hostW + (H_WAKEUPS >> 2)]!++;
      this.adaptSpin(performance.now() - this.sleptAt);
      this.endSleep();
      this.wake();
    });
  }

  /** See spinMs. `slept`: how long the sleep that just ended lasted, in ms. */
  private adaptSpin(slept: number): void {
    if (slept < SHORT_SLEEP_MS) this.spinMs = Math.min(this.maxSpinMs, this.spinMs * 2);
    else if (slept > LONG_SLEEP_MS) this.spinMs = Math.max(this.minSpinMs, this.spinMs / 2);
  }

  private endSleep(): void {
    this.sleeping = false;
    this.sleepGeneration++;
    this.clearNeedsWakeup();
  }

  private clearNeedsWakeup(): void {
    Atomics.store(this.shared.i32, this.shared.needsWakeupWord(this.index), 0);
    for (const g of this.list) if (g.scanned) Atomics.store(g.i32, g.lineW + (T_NEEDS_WAKEUP >> 2), 0);
  }

  // ------------------------------------------------------------------ one pass

  /** Scans every guest once (and the forward rings on the home thread). Returns the work found. */
  pass(): number {
    let work = 0;
    this.inPass = true;
    try {
      for (let i = 0; i < this.list.length; i++) {
        const g = this.list[i]!;
        if (g.scanned) work += this.scanGuest(g);
      }
      if (this.isHome) for (const ring of this.rings) work += ring.drain(this.onForwarded);
      if (this.backlog.length) work += this.retryBacklog();
    } finally {
      this.inPass = false;
      if (this.toFlush.length) {
        for (const g of this.toFlush) this.flush(g);
        this.toFlush.length = 0;
      }
    }
    return work;
  }

  private scanGuest(g: GuestSlot): number {
    const i32 = g.i32;
    // The shim word first: whatever the guest published before posting the shim entry is then
    // visible in sq_tail below, so entries run before the shim call that followed them.
    const shim = Atomics.load(i32, g.shimSeqW);
    const tail = Atomics.load(i32, g.lineW + (T_SQ_TAIL >> 2));
    const cancels = Atomics.load(i32, g.lineW + (T_CANCEL_TAIL >> 2));
    let work = 0;
    if (tail !== g.nextSeq || cancels !== g.seenCancel) {
      g.seenCancel = cancels;
      i32[g.hostW + (H_SCANS >> 2)]!++;
      work += this.scanPages(g, tail);
    }
    if (shim !== g.seenShim) {
      g.seenShim = shim;
      work += this.scanShim(g);
    }
    return work;
  }

  /**
   * Finds the entries published since the last pass (seq in [nextSeq, tail)) through the pages'
   * submission masks, and runs them in seq order: the guest's per-thread submission order, which
   * keeps calls on one descriptor in order. Also answers cancellations. Only entries whose bit is set
   * are looked at, so idle entries (a server's thousands of pending reads) cost nothing per pass.
   */
  private scanPages(g: GuestSlot, tail: number): number {
    const i32 = g.i32;
    let span = (tail - g.nextSeq) >>> 0;
    if (span > g.entryCount) {
      // More published than there are entries: the guest broke the protocol. Resynchronise.
      this.diagnose(g, `${g.name}: sq_tail jumped by ${span}; resynchronising`);
      span = 0;
    }
    if (this.bySeq.length < span) this.bySeq = new Int32Array(Math.max(span, this.bySeq.length * 2)).fill(-1);
    const bySeq = this.bySeq;
    let found = 0;
    const owned = g.owned;
    for (let k = 0; k < owned.length; k++) {
      const p = owned[k]!;
      const w = g.subW + p * 2;
      let lo = g.carryLo[k]!;
      let hi = g.carryHi[k]!;
      if (Atomics.load(i32, w) !== 0) lo |= Atomics.exchange(i32, w, 0);
      if (Atomics.load(i32, w + 1) !== 0) hi |= Atomics.exchange(i32, w + 1, 0);
      if ((lo | hi) === 0) continue;
      let keepLo = 0;
      let keepHi = 0;
      for (let half = 0; half < 2; half++) {
        let m = half === 0 ? lo : hi;
        while (m !== 0) {
          const bit = m & -m;
          m ^= bit;
          const index = p * ENTRIES_PER_PAGE + half * 32 + (31 - Math.clz32(bit));
          const ew = g.pagesW + index * 16;
          const status = Atomics.load(i32, ew);
          let keep = false;
          if (status === ST_SUBMITTED) {
            const rel = (i32[ew + EW_SEQ]! - g.nextSeq) >>> 0;
            if (rel < span) {
              if (bySeq[rel] === -1) found++;
              bySeq[rel] = index;
            } else keep = rel < 0x8000_0000; // posted after the tail we read: look again
          } else if (status === ST_CANCEL) {
            keep = this.cancelEntry(g, index, ew, span);
          }
          if (keep) {
            if (half === 0) keepLo |= bit;
            else keepHi |= bit;
          }
        }
      }
      g.carryLo[k] = keepLo;
      g.carryHi[k] = keepHi;
    }
    g.nextSeq = tail;
    if (found === 0) {
      this.publishNextSeq(g);
      return 0;
    }
    let claimed = 0;
    for (let rel = 0; rel < span && found > 0; rel++) {
      const index = bySeq[rel]!;
      if (index === -1) continue;
      bySeq[rel] = -1;
      found--;
      const w = g.pagesW + index * 16;
      const prev = Atomics.compareExchange(i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY);
      if (prev === ST_SUBMITTED) {
        i32[w + EW_HOST] = HOST_CLAIMED;
        claimed++;
        if (this.kernel) this.execute(g, index, this.index);
        else this.forward(g.gid, index, FWD_EXECUTE);
      } else if (prev === ST_CANCEL) {
        this.cancelledBeforeClaim(g, index);
      }
    }
    if (claimed) {
      i32[g.hostW + (H_CLAIMED >> 2)] = i32[g.hostW + (H_CLAIMED >> 2)]! + claimed;
      i32[g.hostW + (H_BATCHES >> 2)]!++;
    }
    this.publishNextSeq(g);
    return claimed;
  }

  /**
   * Says how far this thread has taken the guest's entries (idleAdvance compares it with sq_tail).
   * Only once what it took is executing or sits in the forward ring: a home thread that saw the new
   * value with the ring still empty would think every posted call is parked and move virtual time.
   */
  private publishNextSeq(g: GuestSlot): void {
    if (this.backlog.length === 0) Atomics.store(g.i32, g.hostW + (H_NEXT_SEQ >> 2), g.nextSeq);
  }

  /** A CANCEL entry seen in a scan. Returns true when it must be looked at again (not yet published). */
  private cancelEntry(g: GuestSlot, index: number, w: number, span: number): boolean {
    const i32 = g.i32;
    const host = i32[w + EW_HOST]!;
    if (host === 0) {
      // Never claimed. Published? Then it is answered without running; else look again later.
      const rel = (i32[w + EW_SEQ]! - g.nextSeq) >>> 0;
      if (rel < span || rel >= 0x8000_0000) {
        this.cancelledBeforeClaim(g, index);
        return false;
      }
      return true;
    }
    if (host & HOST_CANCEL_SEEN) return false;
    i32[w + EW_HOST] = host | HOST_CANCEL_SEEN;
    if (this.kernel) this.interrupt(g, index);
    else this.forward(g.gid, index, FWD_CANCEL);
    return false;
  }

  private cancelledBeforeClaim(g: GuestSlot, index: number): void {
    const w = g.entryW(index);
    const sysno = g.i32[w + EW_SYSNO]!;
    const call = new EntryCall(this, g, index, this.index, sysno, 0, 0, 0, 0, 0, 0, 0);
    // The guest posted it: it counts as submitted, so that completed never exceeds submitted.
    if (sysno >>> 0 < SYSNO_LIMIT) g.submittedBySysno[sysno]!++;
    call.cancelRequested = true;
    call.complete(-ECANCELED);
  }

  /** Asks the kernel to interrupt a running call (paper 4.2); the call's result says who won. */
  private interrupt(g: GuestSlot, index: number): void {
    const call = g.inflight.get(index);
    if (!call) return;
    call.cancelRequested = true;
    const cancel = call.onCancel;
    if (cancel) {
      try {
        cancel();
      } catch (err) {
        this.options.log(`cancel hook failed: ${(err as Error).message}`);
      }
    }
  }

  /** The shim entry (host import shims on the guest thread) when it names this thread. */
  private scanShim(g: GuestSlot): number {
    const w = g.shimW;
    if (g.i32[w + EW_THREAD] !== this.index) return 0;
    if (Atomics.compareExchange(g.i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY) !== ST_SUBMITTED) return 0;
    g.i32[w + EW_HOST] = HOST_CLAIMED;
    if (this.kernel) this.execute(g, -1, this.index);
    else this.forward(g.gid, -1, FWD_EXECUTE);
    return 1;
  }

  // ------------------------------------------------------------------ forwarding

  private forward(gid: number, index: number, kind: number): void {
    if (this.backlog.length || !this.outRing!.push(gid, index, kind)) {
      this.backlog.push([gid, index, kind]);
      return;
    }
    this.shared.wake(0);
  }

  private retryBacklog(): number {
    let n = 0;
    while (this.backlog.length) {
      const [gid, index, kind] = this.backlog[0]!;
      if (!this.outRing!.push(gid, index, kind)) break;
      this.backlog.shift();
      n++;
    }
    if (n) this.shared.wake(0);
    if (this.backlog.length === 0) for (const g of this.list) if (g.scanned) this.publishNextSeq(g);
    return n;
  }

  /** Home thread: an entry claimed by forwarding thread `from`'s scan. */
  private readonly onForwarded = (gid: number, index: number, kind: number, from: number): void => {
    const g = this.guests.get(gid);
    if (!g) {
      // Not attached here yet (a forwarding thread heard of it first), or gone.
      if (!this.gone.has(gid)) {
        const list = this.early.get(gid);
        if (list) list.push([index, kind, from]);
        else this.early.set(gid, [[index, kind, from]]);
      }
      return;
    }
    if (kind === FWD_CANCEL) this.interrupt(g, index);
    else this.execute(g, index, from);
  };

  // ------------------------------------------------------------------ execution

  /**
   * Runs the entry's call on this thread's kernel. `thread` is the descriptor class: the thread the
   * guest posted to (for forwarded calls, the forwarding thread).
   */
  private execute(g: GuestSlot, index: number, thread: number): void {
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

  private newCall(g: GuestSlot, index: number, thread: number, sysno: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, flags: number): EntryCall {
    const spare = this.spare;
    if (spare) {
      this.spare = null;
      return spare.reset(g, index, thread, sysno, a0, a1, a2, a3, a4, a5, flags);
    }
    return new EntryCall(this, g, index, thread, sysno, a0, a1, a2, a3, a4, a5, flags);
  }

  private run(g: GuestSlot, call: EntryCall): void {
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
      const max = this.options.limits.maxPending;
      if (shared ? !takeSharedPlace(g.counters, max) : g.inflight.size >= max) {
        call.complete(-EAGAIN);
        return;
      }
    }
    let result: number;
    try {
      result = this.kernel!.syscall(g.proc, call);
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

  private errorResult(err: unknown, g: GuestSlot, call: EntryCall): number {
    if (err instanceof SysError) return -err.errno;
    this.diagnose(g, `${g.name}: kernel failed on syscall ${call.sysno}: ${(err as Error)?.stack ?? String(err)}`);
    return -EIO;
  }

  /** A diagnostic the guest caused: counted in its statistics, printed within its rate limit. */
  private diagnose(g: GuestSlot, message: string): void {
    Atomics.add(g.counters, GC_DIAGNOSTICS, 1);
    const line = g.diagnostics.admit(message);
    if (line === null) Atomics.add(g.counters, GC_DIAGNOSTICS_SUPPRESSED, 1);
    else this.options.log(line);
  }

  /** Writes a result into its entry and marks it DONE (CallSink). */
  finish(call: EntryCall, result: number): void {
    const g = call.guest;
    if (!g.attached) return;
    if (g.inflight.delete(call.index) && g.countsShared) Atomics.sub(g.counters, GC_PENDING, 1);
    if (typeof result !== 'number' || !Number.isFinite(result) || result === PENDING) result = -EIO;
    const i32 = g.i32;
    const w = g.entryW(call.index);
    i32[w + EW_RET] = result; // low 32 bits (ToInt32 is modulo 2^32)
    i32[w + EW_RET_HI] = Math.floor(result / TWO_32);
    i32[w + EW_HOST] = 0;
    const prev = Atomics.compareExchange(i32, w + EW_STATUS, ST_BUSY, ST_DONE);
    if (prev !== ST_BUSY) {
      Atomics.store(i32, w + EW_STATUS, ST_DONE);
      if (prev === ST_CANCEL) call.cancelRequested = true;
    }
    if (g.scanned) g.noteDone(call.index);
    if (call.cancelRequested) i32[g.hostW + ((result === -ECANCELED ? H_CANCEL_WON : H_CANCEL_LOST) >> 2)]!++;
    if (call.sysno >>> 0 < SYSNO_LIMIT) g.completedBySysno[call.sysno]!++;
    if (this.options.trace) this.options.trace(traceLine(g, call, result));
    i32[g.hostW + (H_COMPLETED >> 2)]!++;
    if (!g.scanned) {
      // A guest running on this thread reads its entry right away: nothing to announce. Until its
      // resume runs it has work to do: not suspended for idleAdvance.
      if (call.onDone) {
        g.suspendedLocally = false;
        this.resumes.push(call.onDone);
        // Completed from the event loop (os kernel I/O) while this thread may sleep: resume soon.
        if (!this.inPass) setImmediate(() => this.runResumes());
      }
      return;
    }
    if (call.index >= 0) {
      const page = call.index >> 6;
      const bit = 1 << (call.index & 31);
      if ((g.doneLo[page]! | g.doneHi[page]!) === 0) g.dirtyPages.push(page);
      if ((call.index & 32) === 0) g.doneLo[page]! |= bit;
      else g.doneHi[page]! |= bit;
    }
    g.pendingDone++;
    if (call.onDone) this.resumes.push(call.onDone);
    if (g.pendingDone === 1) this.toFlush.push(g);
    // Outside a pass (a completion from the event loop: real I/O), announce at the end of this
    // event-loop turn, together with every other completion of the turn.
    if (!this.inPass && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushTurn);
    }
  }

  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    if (this.inPass) return; // the pass in progress flushes on its way out
    for (const g of this.toFlush) this.flush(g);
    this.toFlush.length = 0;
    this.runResumes();
  };

  /** Announces completions: done masks, the completions word, and a notify if the guest waits. */
  private flush(g: GuestSlot): void {
    if (g.pendingDone === 0) return;
    const i32 = g.i32;
    const pages = g.dirtyPages;
    if (pages.length) {
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i]!;
        const lo = g.doneLo[p]!;
        const hi = g.doneHi[p]!;
        if (lo !== 0) Atomics.or(i32, g.doneW + p * 2, lo);
        if (hi !== 0) Atomics.or(i32, g.doneW + p * 2 + 1, hi);
        g.doneLo[p] = 0;
        g.doneHi[p] = 0;
      }
      pages.length = 0;
    }
    g.pendingDone = 0;
    Atomics.add(i32, g.completionsW, 1);
    if (Atomics.load(i32, g.waitingW) !== 0) {
      Atomics.notify(i32, g.completionsW);
      i32[g.hostW + (H_NOTIFIES >> 2)]!++;
    }
  }

  private runResumes(): void {
    while (this.resumes.length) this.resumes.shift()!();
  }

  // ------------------------------------------------------------------ guests on this thread (epoll mode)

  /**
   * `syscall` import of a guest running on this thread: executes its entry now. A call that would
   * have to wait cannot block the thread, so it is interrupted and fails with -EAGAIN.
   */
  executeLocal(g: GuestSlot, entryPtr: number): void {
    const index = this.localIndex(g, entryPtr);
    if (index === null) return;
    const call = this.localCall(g, index);
    call.flags |= EF_NOWAIT; // nothing may wait on this thread: would-block answers -EAGAIN
    this.runNow(g, call);
  }

  /**
   * `yield` import of a guest running on this thread: starts its entry; 0 if it already completed,
   * else 1 and `resume` runs (from the event loop) once it does.
   */
  startLocal(g: GuestSlot, entryPtr: number, resume: () => void): number {
    const index = this.localIndex(g, entryPtr);
    if (index === null) return 0;
    const call = this.localCall(g, index);
    this.run(g, call);
    if (call.done) return 0;
    call.onDone = resume;
    this.wake(); // this thread's loop must run for anything to complete it
    return 1;
  }

  /** An import shim's call for a guest running on this thread, through its shim entry. */
  shimLocal(g: GuestSlot, nr: number, a0: number, a1: number, a2: number, a3: number): number {
    const i32 = g.i32;
    const w = g.shimW;
    Atomics.store(i32, w + EW_STATUS, ST_BUSY);
    this.runNow(g, this.newCall(g, -1, this.index, nr, a0, a1, a2, a3, 0, 0, EF_NOWAIT));
    const result = (i32[w + EW_RET_HI]! * TWO_32) + (i32[w + EW_RET]! >>> 0);
    Atomics.store(i32, w + EW_STATUS, 0);
    return result;
  }

  private runNow(g: GuestSlot, call: EntryCall): void {
    this.run(g, call);
    if (!call.done) {
      call.onCancel?.();
      call.complete(-EAGAIN);
    }
  }

  private localIndex(g: GuestSlot, entryPtr: number): number | null {
    const off = (entryPtr >>> 0) - g.layout.pagesPtr;
    if (off < 0 || off % 64 !== 0 || off / 64 >= g.entryCount) return null;
    const index = off / 64;
    const w = g.entryW(index);
    if (Atomics.compareExchange(g.i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY) !== ST_SUBMITTED) return null;
    return index;
  }

  private localCall(g: GuestSlot, index: number): EntryCall {
    const i32 = g.i32;
    const w = g.entryW(index);
    return this.newCall(
      g, index, this.index, i32[w + EW_SYSNO]!,
      i32[w + EW_ARG0]!, i32[w + EW_ARG1]!, i32[w + EW_ARG2]!, i32[w + EW_ARG3]!, i32[w + EW_ARG4]!, i32[w + EW_ARG5]!,
      i32[w + EW_FLAGS]!,
    );
  }

  // ------------------------------------------------------------------ virtual time

  /**
   * Home thread of a timed kernel: when every guest waits, nothing is starting, every thread has
   * taken everything posted and no forwarded entry is in transit, the kernel may advance its clock.
   */
  private idleAdvance(): boolean {
    const k = this.kernel;
    if (!k?.idle || !k.hasTimers?.()) return false;
    if (Atomics.load(this.shared.i32, this.shared.startingWord) !== 0 || this.early.size !== 0) return false;
    for (const g of this.list) {
      if (g.scanned) {
        if (Atomics.load(g.i32, g.waitingW) === 0) return false;
        // Waiting, but with results to take (woken, or about to look): it will run, not idle.
        if (g.holdsCompletions()) return false;
        if (!this.tailsTaken(g)) return false;
      } else if (!g.suspendedLocally) return false;
    }
    // After the tails: a forwarding thread fills its ring before it publishes how far it took.
    for (const ring of this.rings) if (!ring.empty) return false;
    // The reads above are no snapshot: a guest could have been woken, taken its results and cleared
    // its flag meanwhile. Still waiting now with nothing new posted, it went back to waiting (posting
    // nothing) or never left: idle either way.
    for (const g of this.list) if (g.scanned && (Atomics.load(g.i32, g.waitingW) === 0 || !this.tailsTaken(g))) return false;
    return k.idle();
  }

  /**
   * Every call guest `g` posted has been taken by the syscall thread it was posted to. (An import
   * shim's call has no tail: it is taken once it executes here, not while posted or on its way.)
   */
  private tailsTaken(g: GuestSlot): boolean {
    const shim = Atomics.load(g.i32, g.shimW);
    if (shim === ST_SUBMITTED || (shim === ST_BUSY && !g.inflight.has(-1))) return false;
    for (let t = 0; t < g.threads; t++) {
      const line = g.ctrlW + ((THREAD_LINES + t * 64) >> 2);
      const hostLine = g.ctrlW + ((HOST_LINES + t * 64) >> 2);
      if (Atomics.load(g.i32, line + (T_SQ_TAIL >> 2)) !== Atomics.load(g.i32, hostLine + (H_NEXT_SEQ >> 2))) return false;
    }
    return true;
  }
}
