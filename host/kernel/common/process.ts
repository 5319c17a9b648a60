import { FdTable } from './fd-table.js';
import type { ProcessSpec } from '../kernel.js';
import type { Description } from './description.js';
import type { ParkingProcess, Waiter } from './scheduler.js';

/**
 * A guest as a kernel instance sees it: its descriptors (entries of type E), its parked calls and
 * the same calls by the descriptor they wait on (close ends them without a scan). The kernels differ
 * in how descriptors are counted against spec.limits.maxFds (reserve/install): the virtual kernel's
 * table holds them all, the os kernel counts them in memory shared by the process's threads.
 */
export abstract class ProcessBase<E> implements ParkingProcess {
  readonly fds: FdTable<E>;
  /** Calls parked for this process, in parking order. */
  readonly parked = new Set<Waiter>();
  readonly parkedOnFd = new Map<number, Set<Waiter>>();
  alive = true;

  constructor(readonly spec: ProcessSpec) {
    this.fds = new FdTable<E>(spec.fdClasses, spec.limits.maxFds);
  }

  get memory() {
    return this.spec.memory;
  }

  get pid(): number {
    return this.spec.pid;
  }

  /** Counts `n` new descriptors against the limit, or fails with EMFILE. */
  abstract reserve(n?: number): void;

  /** Gives back descriptors reserved and not installed. */
  abstract unreserve(n?: number): void;

  /** True when `n` more descriptors fit (without counting them). */
  abstract hasRoom(n?: number): boolean;

  /** Installs an entry in the class of syscall thread `thread` (the caller reserved it). */
  install(thread: number, entry: E, cloexec: boolean): number {
    return this.fds.allocate(thread, entry, cloexec);
  }

  /** Reserves and installs a new description (EMFILE when the process is full). */
  open(thread: number, d: Description & E, cloexec: boolean): number {
    this.reserve();
    try {
      return this.install(thread, d, cloexec);
    } catch (e) {
      this.unreserve();
      throw e;
    }
  }

  /** The description behind `fd` (EBADF when there is none). */
  abstract description(fd: number): Description<unknown>;

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
}
