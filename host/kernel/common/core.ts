import type { ConnectPolicy } from './connect-policy.js';
import type { Scheduler } from './scheduler.js';
import type { Timespec } from './time.js';
import type { VirtualTime } from '../capabilities.js';

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
   * The kernel's simulated time, or null where real time passes by itself (the os kernel). A readiness
   * check that may not wait (poll or epoll_wait with a zero timeout, or EF_NOWAIT) and found nothing
   * calls its pollIdleTick, so a guest polling in a loop sees its timers expire.
   */
  readonly virtualTime: VirtualTime | null;
  /** The addresses connect() may reach (EACCES past them). */
  readonly connectPolicy: ConnectPolicy;
}
