import { CLOCK_MONOTONIC, CLOCK_REALTIME, EINVAL, TIMER_ABSTIME } from '../../abi/v1.js';
import { sleepFor } from '../common/time-calls.js';
import { NSEC_PER_MSEC, NSEC_PER_SEC, nsToTimespec, readTimespec, timespecToNs, writeTimespec, type Timespec } from '../common/time.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

// Linux clock ids beyond the two in the ABI table.
const CLOCK_PROCESS_CPUTIME_ID = 2;
const CLOCK_MONOTONIC_RAW = 4;
const CLOCK_REALTIME_COARSE = 5;
const CLOCK_MONOTONIC_COARSE = 6;
const CLOCK_BOOTTIME = 7;

/** The host's monotonic clock (CLOCK_MONOTONIC through libuv), exact to the nanosecond. */
function monotonic(): Timespec {
  const [sec, nsec] = process.hrtime();
  return { sec, nsec };
}

/** The host's real-time clock (millisecond resolution through Date, refined by the monotonic clock). */
function realtime(): Timespec {
  const ns = (performance.timeOrigin + performance.now()) * NSEC_PER_MSEC;
  return nsToTimespec(Math.floor(ns));
}

/**
 * clock_gettime on real clocks: REALTIME (and _COARSE), MONOTONIC (and _RAW, _COARSE, BOOTTIME, all
 * the host's monotonic clock), PROCESS_CPUTIME_ID (the whole host process's CPU time, which is
 * what Node can measure). Other clocks (thread CPU time, per-process clocks) are EINVAL.
 */
export function sysClockGettime(_k: OsKernel, p: OsProcess, c: Call): number {
  let t: Timespec;
  switch (c.a0) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      t = realtime();
      break;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      t = monotonic();
      break;
    case CLOCK_PROCESS_CPUTIME_ID: {
      const u = process.cpuUsage();
      t = nsToTimespec((u.user + u.system) * 1000);
      break;
    }
    default:
      return -EINVAL;
  }
  writeTimespec(p.memory, c.a1, t);
  return 0;
}

/** clock_nanosleep on the host's clocks (a deadline is a monotonic millisecond count, see timer.ts). */
export function sysClockNanosleep(k: OsKernel, p: OsProcess, c: Call): number {
  const [clockId, flags, timePtr, remainingPtr] = [c.a0, c.a1, c.a2, c.a3];
  if (clockId !== CLOCK_REALTIME && clockId !== CLOCK_MONOTONIC && clockId !== CLOCK_BOOTTIME) return -EINVAL;
  const t = readTimespec(p.memory, timePtr);
  if ((flags & TIMER_ABSTIME) === 0) return sleepFor(k, p, c, timespecToNs(t), remainingPtr);
  // An absolute time on the chosen clock, turned into a delay from now on that clock: seconds apart
  // first (a real-time nanosecond count is past 2^53, where a double loses nanoseconds).
  const clockNow = clockId === CLOCK_REALTIME ? realtime() : monotonic();
  return sleepFor(k, p, c, Math.min((t.sec - clockNow.sec) * NSEC_PER_SEC + (t.nsec - clockNow.nsec), Number.MAX_SAFE_INTEGER), 0);
}
