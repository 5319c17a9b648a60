import { performance } from 'node:perf_hooks';
import type { Timers } from '../common/scheduler.js';
import { NSEC_PER_MSEC } from '../common/time.js';

/** The longest delay setTimeout accepts; longer waits re-arm. */
const MAX_DELAY_MS = 0x7fff_ffff;

/** Monotonic milliseconds (fractional) for deadlines. */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * A one-shot real-time timer for a deadline on the monotonic clock. Node timers have millisecond
 * granularity and may fire a little early relative to performance.now(); the timer re-arms until the
 * deadline has really passed, so a sleep never ends before it should (it may end up to ~1 ms late).
 * Only calls with a timeout get one: idle sockets have no timer at all.
 */
export class Deadline {
  private handle: NodeJS.Timeout | null = null;

  constructor(
    readonly atMs: number,
    private readonly fire: () => void,
  ) {
    this.arm();
  }

  get remainingMs(): number {
    return Math.max(0, this.atMs - monotonicMs());
  }

  cancel(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }

  private arm(): void {
    const left = this.atMs - monotonicMs();
    if (left <= 0) {
      // Deferred even when already due: a timer never fires inside the call that armed it.
      this.handle = setTimeout(() => {
        this.handle = null;
        this.fire();
      }, 0);
      return;
    }
    this.handle = setTimeout(() => {
      this.handle = null;
      if (this.atMs - monotonicMs() > 0) this.arm();
      else this.fire();
    }, Math.min(Math.ceil(left), MAX_DELAY_MS));
  }
}

/** Deadlines of parked calls: real monotonic milliseconds, each armed as a Deadline. */
export const realTimers: Timers = {
  now: monotonicMs,
  afterNs: (ns) => monotonicMs() + ns / NSEC_PER_MSEC,
  nsLeft: (deadline) => Math.max(0, Math.round((deadline - monotonicMs()) * NSEC_PER_MSEC)),
  arm: (deadline, fire) => new Deadline(deadline, fire),
  cancel: (timer) => (timer as Deadline).cancel(),
};
