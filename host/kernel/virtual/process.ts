import { FdTable } from '../common/fd-table.js';
import type { ProcessSpec } from '../kernel.js';
import type { Description } from './description.js';
import type { Waiter } from './scheduler.js';

/** A guest as the virtual kernel sees it: its descriptors and its waiting calls. */
export class VirtualProcess {
  readonly fds: FdTable<Description>;
  /** Calls parked for this process, in parking order. */
  readonly parked = new Set<Waiter>();
  /** The same calls by the descriptor they wait on (close ends them without a scan). */
  readonly parkedOnFd = new Map<number, Set<Waiter>>();
  alive = true;

  constructor(readonly spec: ProcessSpec) {
    this.fds = new FdTable<Description>(spec.fdClasses, spec.limits.maxFds);
  }

  get memory() {
    return this.spec.memory;
  }

  get pid(): number {
    return this.spec.pid;
  }

  /** Records a parked call. */
  addParked(w: Waiter): void {
    this.parked.add(w);
    const fd = w.options.fd;
    if (fd < 0) return;
    let set = this.parkedOnFd.get(fd);
    if (set === undefined) {
      set = new Set();
      this.parkedOnFd.set(fd, set);
    }
    set.add(w);
  }

  removeParked(w: Waiter): void {
    this.parked.delete(w);
    const set = this.parkedOnFd.get(w.options.fd);
    if (set === undefined) return;
    set.delete(w);
    if (set.size === 0) this.parkedOnFd.delete(w.options.fd);
  }

  /** Installs a new description in the class of syscall thread `thread` (EMFILE when full). */
  open(thread: number, d: Description, cloexec: boolean): number {
    const fd = this.fds.allocate(thread, d, cloexec);
    d.refs++;
    return fd;
  }
}
