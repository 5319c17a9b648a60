import type { Timers } from '../common/scheduler.js';
import { NSEC_PER_SEC, type Timespec } from '../common/time.js';

/** Default start of the realtime clock: 2024-01-01T00:00:00Z. */
export const DEFAULT_EPOCH_MS = 1_704_067_200_000;
/** The monotonic clock starts at one second ("booted a second ago"), never at the ambiguous 0. */
const MONOTONIC_START_NS = NSEC_PER_SEC;
/** What one clock read costs in virtual time: enough for a busy-wait loop to reach its deadline. */
export const CLOCK_READ_COST_NS = 1_000;

/** A timer armed on the virtual clock. */
export interface Timer {
  readonly deadline: number;
  readonly seq: number;
  readonly fire: () => void;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
}

/**
 * Virtual time. It never follows the host: it moves only when a guest reads a clock (a small fixed
 * cost) and when the runtime reports that every guest waits (`advanceToNextTimer`). Timers fire in
 * (deadline, arming order), so the same inputs give the same run. Deadlines are monotonic
 * nanoseconds.
 */
export class VirtualClock implements Timers {
  private nowNs = MONOTONIC_START_NS;
  private readonly epochSec: number;
  private readonly epochRemNs: number;
  private readonly heap: Timer[] = [];
  private seq = 0;

  constructor(epochMs = DEFAULT_EPOCH_MS) {
    const ms = Math.round(epochMs);
    this.epochSec = Math.floor(ms / 1000);
    this.epochRemNs = (ms - this.epochSec * 1000) * 1_000_000;
  }

  /** Monotonic nanoseconds. */
  get monotonicNs(): number {
    return this.nowNs;
  }

  now(): number {
    return this.nowNs;
  }

  afterNs(ns: number): number {
    return Math.min(Number.MAX_SAFE_INTEGER, this.nowNs + ns);
  }

  nsLeft(deadline: number): number {
    return Math.max(0, deadline - this.nowNs);
  }

  monotonic(): Timespec {
    const sec = Math.floor(this.nowNs / NSEC_PER_SEC);
    return { sec, nsec: this.nowNs - sec * NSEC_PER_SEC };
  }

  realtime(): Timespec {
    const ns = this.epochRemNs + (this.nowNs - MONOTONIC_START_NS);
    const extra = Math.floor(ns / NSEC_PER_SEC);
    return { sec: this.epochSec + extra, nsec: ns - extra * NSEC_PER_SEC };
  }

  /** Nanoseconds from now until the realtime instant `t` (negative when it is past). */
  untilRealtime(t: Timespec): number {
    const now = this.realtime();
    return (t.sec - now.sec) * NSEC_PER_SEC + (t.nsec - now.nsec);
  }

  /** Moves time forward by `ns` and fires the timers that became due. Returns how many fired. */
  advance(ns: number): number {
    this.nowNs = Math.min(Number.MAX_SAFE_INTEGER, this.nowNs + ns);
    return this.fireDue();
  }

  /** Jumps to the earliest armed deadline (if later than now) and fires everything due. */
  advanceToNextTimer(): number {
    const first = this.heap[0];
    if (first === undefined) return 0;
    if (first.deadline > this.nowNs) this.nowNs = first.deadline;
    return this.fireDue();
  }

  get armed(): number {
    return this.heap.length;
  }

  /** Arms a timer for the monotonic instant `deadline` (callers complete already-due waits at once). */
  arm(deadline: number, fire: () => void): Timer {
    const t: Timer = { deadline, seq: this.seq++, fire, index: this.heap.length };
    this.heap.push(t);
    this.up(t.index);
    return t;
  }

  cancel(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    t.index = -1;
    const last = this.heap.pop()!;
    if (last !== t) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  private fireDue(): number {
    let fired = 0;
    for (;;) {
      const first = this.heap[0];
      if (first === undefined || first.deadline > this.nowNs) return fired;
      this.cancel(first);
      fired++;
      first.fire();
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(t, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.less(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.less(child, t)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
