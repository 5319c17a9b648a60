import { EINVAL, TIMESPEC_SIZE, TIMESPEC_TV_NSEC, TIMESPEC_TV_SEC } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

export const NSEC_PER_SEC = 1_000_000_000;
export const NSEC_PER_MSEC = 1_000_000;

/** A point or span of time as struct timespec holds it. */
export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

/** Reads a struct timespec, refusing what Linux refuses (EINVAL: negative seconds, nsec outside [0, 1e9)). */
export function readTimespec(memory: GuestMemory, ptr: number): Timespec {
  memory.check(ptr, TIMESPEC_SIZE);
  const sec = memory.i64(ptr + TIMESPEC_TV_SEC);
  const nsec = memory.i64(ptr + TIMESPEC_TV_NSEC);
  if (sec < 0 || nsec < 0 || nsec >= NSEC_PER_SEC) throw new SysError(EINVAL, 'bad timespec');
  return { sec, nsec };
}

export function writeTimespec(memory: GuestMemory, ptr: number, t: Timespec): void {
  memory.check(ptr, TIMESPEC_SIZE);
  memory.setI64(ptr + TIMESPEC_TV_SEC, t.sec);
  memory.setI64(ptr + TIMESPEC_TV_NSEC, t.nsec);
}

/** Nanoseconds in a timespec, saturating at Number.MAX_SAFE_INTEGER (a span that long never ends). */
export function timespecToNs(t: Timespec): number {
  const ns = t.sec * NSEC_PER_SEC + t.nsec;
  return Number.isSafeInteger(ns) ? ns : Number.MAX_SAFE_INTEGER;
}

/** A non-negative nanosecond count as a timespec. */
export function nsToTimespec(ns: number): Timespec {
  const sec = Math.floor(ns / NSEC_PER_SEC);
  return { sec, nsec: ns - sec * NSEC_PER_SEC };
}
