import { CLOCK_MONOTONIC, CLOCK_REALTIME, EINVAL, TIMER_ABSTIME } from '../../abi/v1.js';
import { sleepFor, sleepUntil } from '../common/time-calls.js';
import { readTimespec, timespecToNs, writeTimespec, type Timespec } from '../common/time.js';
import type { Call } from '../kernel.js';
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

/** clock_nanosleep on the two virtual clocks (a deadline is a monotonic nanosecond count). */
export function sysClockNanosleep(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [clockId, flags, timePtr, remainingPtr] = [c.a0, c.a1, c.a2, c.a3];
  if (clockId !== CLOCK_REALTIME && clockId !== CLOCK_MONOTONIC) return -EINVAL;
  const t = readTimespec(p.memory, timePtr);
  if ((flags & TIMER_ABSTIME) === 0) return sleepFor(k, p, c, timespecToNs(t), remainingPtr);
  if (clockId === CLOCK_MONOTONIC) return sleepUntil(k, p, c, timespecToNs(t), 0);
  return sleepFor(k, p, c, k.clock.untilRealtime(t), 0);
}
