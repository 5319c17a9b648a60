import { CLOCK_MONOTONIC, CLOCK_REALTIME, EAGAIN, EINVAL, TIMER_ABSTIME } from '../../abi/v1.js';
import { nsToTimespec, readTimespec, timespecToNs, writeTimespec, type Timespec } from '../common/time.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait } from './blocking.js';
import { CLOCK_READ_COST_NS } from './clock.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** clock_gettime: reading a clock costs CLOCK_READ_COST_NS of virtual time, so spinning on it ends. */
export function sysClockGettime(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  let t: Timespec;
  if (c.a0 === CLOCK_REALTIME) t = k.clock.realtime();
  else if (c.a0 === CLOCK_MONOTONIC) t = k.clock.monotonic();
  else return -EINVAL;
  writeTimespec(p.memory, c.a1, t);
  k.clock.advance(CLOCK_READ_COST_NS);
  return 0;
}

/**
 * Waits until the monotonic `deadline`. Cancelled, it answers -ECANCELED and, for a relative sleep
 * with a `remaining` pointer, stores the time left there (as Linux does on EINTR).
 */
function sleepUntil(k: VirtualKernel, p: VirtualProcess, c: Call, deadline: number, remainingPtr: number): number {
  if (deadline <= k.clock.monotonicNs) return 0;
  if (mustNotWait(c)) return -EAGAIN;
  return k.sched.park(p, c, {
    fd: -1,
    queues: [],
    attempt: () => PENDING,
    deadline,
    timeout: () => 0,
    interrupted: (errno) => {
      if (remainingPtr !== 0) {
        try {
          writeTimespec(p.memory, remainingPtr, nsToTimespec(Math.max(0, deadline - k.clock.monotonicNs)));
        } catch {
          // A bad `remaining` pointer loses the remainder, not the cancellation.
        }
      }
      return -errno;
    },
  });
}

export function sysNanosleep(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const span = timespecToNs(readTimespec(p.memory, c.a0));
  return sleepUntil(k, p, c, Math.min(Number.MAX_SAFE_INTEGER, k.clock.monotonicNs + span), c.a1);
}

export function sysClockNanosleep(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [clockId, flags, timePtr, remainingPtr] = [c.a0, c.a1, c.a2, c.a3];
  if (clockId !== CLOCK_REALTIME && clockId !== CLOCK_MONOTONIC) return -EINVAL;
  const t = readTimespec(p.memory, timePtr);
  const now = k.clock.monotonicNs;
  if ((flags & TIMER_ABSTIME) === 0) {
    return sleepUntil(k, p, c, Math.min(Number.MAX_SAFE_INTEGER, now + timespecToNs(t)), remainingPtr);
  }
  const deadline = clockId === CLOCK_MONOTONIC ? timespecToNs(t) : now + k.clock.untilRealtime(t);
  return sleepUntil(k, p, c, Math.min(Number.MAX_SAFE_INTEGER, deadline), 0);
}
