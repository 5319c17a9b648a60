import type { ConnectPolicy } from './connect-policy.js';
import type { Scheduler } from './scheduler.js';
import type { Timespec } from './time.js';

/**
 * What kernel-neutral system call code (this folder) needs from a kernel. Each kernel implements it
 * its own way: virtual time and a VM-wide inode counter, or the host's clocks and per-thread inodes.
 */
export interface KernelCore {
  readonly sched: Scheduler;
  /** A fresh inode number for a pipe, socket or epoll set. */
  newIno(): number;
  /** The realtime clock, for the timestamps of new objects. */
  realtime(): Timespec;
  /**
   * A readiness check that may not wait (poll or epoll_wait with a zero timeout, or EF_NOWAIT) found
   * nothing. The virtual kernel lets a little virtual time pass, so a guest polling in a loop sees
   * its timers expire; real time passes by itself in the os kernel.
   */
  pollIdleTick(): void;
  /** The addresses connect() may reach (EACCES past them). */
  readonly connectPolicy: ConnectPolicy;
}
