import { Scheduler, type Waiter } from '../common/scheduler.js';
import { errnoOf, isSystemError } from './errno.js';
import { realTimers } from './timer.js';

/**
 * The os kernel's scheduler. Unlike the virtual kernel's, changes also come from the event loop
 * (data arrived, a timer fired) with no system call running to settle them afterwards: a
 * notification made outside a system call is settled at once (retries never nest). Errors from
 * Node's fs and net are answered with their errno rather than logged as bugs.
 */
export class EventLoopScheduler extends Scheduler {
  private flushing = false;

  constructor(log: (message: string) => void) {
    super({ name: 'os kernel', timers: realTimers, log, errnoOf: (e) => (isSystemError(e) ? errnoOf(e) : 0) });
  }

  override schedule(w: Waiter): void {
    super.schedule(w);
    if (!this.inSyscall) this.flush();
  }

  override flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      super.flush();
    } finally {
      this.flushing = false;
    }
  }
}
