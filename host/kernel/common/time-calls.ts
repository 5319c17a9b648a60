import { EAGAIN } from '../../abi/v1.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait } from './blocking.js';
import type { KernelCore } from './core.js';
import type { ProcessBase } from './process.js';
import { nsToTimespec, readTimespec, timespecToNs, writeTimespec } from './time.js';

/*
 * Sleeping, on the scheduler's clock (virtual or real time: see Timers). Which clocks exist and what
 * they read is each kernel's own (their time-calls.ts).
 */

/**
 * Waits until the monotonic `deadline` (on the scale of k.sched.timers). Cancelled, it answers
 * -ECANCELED and, with a `remaining` pointer, stores the time left there (as Linux does on EINTR).
 */
export function sleepUntil(k: KernelCore, p: ProcessBase<unknown>, c: Call, deadline: number, remainingPtr: number): number {
  const timers = k.sched.timers;
  if (deadline <= timers.now()) return 0;
  if (mustNotWait(c)) return -EAGAIN;
  return k.sched.park(p, c, {
    fd: -1,
    on: [],
    attempt: () => PENDING,
    deadline,
    timeout: () => 0,
    interrupted: (errno) => {
      if (remainingPtr !== 0) {
        try {
          writeTimespec(p.memory, remainingPtr, nsToTimespec(timers.nsLeft(deadline)));
        } catch {
          // A bad `remaining` pointer loses the remainder, not the cancellation.
        }
      }
      return -errno;
    },
  });
}

/** Sleeps `ns` nanoseconds from now (relative sleeps report the remainder when cancelled). */
export function sleepFor(k: KernelCore, p: ProcessBase<unknown>, c: Call, ns: number, remainingPtr: number): number {
  return sleepUntil(k, p, c, k.sched.timers.afterNs(ns), remainingPtr);
}

export function sysNanosleep(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  return sleepFor(k, p, c, timespecToNs(readTimespec(p.memory, c.a0)), c.a1);
}
