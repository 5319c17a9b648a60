import { EBADF, EMFILE } from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { FdTable } from '../common/fd-table.js';
import type { ProcessSpec } from '../kernel.js';
import type { Description } from './description.js';
import { SharedFileTable } from './file-table.js';
import type { Sandbox } from './sandbox.js';
import type { Waiter } from './scheduler.js';

/** A file or directory descriptor of this thread: its slot in the shared file table. */
export class FileHandle {
  constructor(public slot: number) {}
}

/** What a descriptor of this thread refers to. */
export type LocalEntry = Description | FileHandle;

/**
 * A guest as one os kernel instance (one syscall thread) sees it: the descriptors of this thread's
 * class, the calls parked here, and views of what all threads of the process share (the file table
 * and the descriptor count, in ProcessSpec.shared).
 */
export class OsProcess {
  /** This thread's descriptors (plus the standard streams, present on every thread). */
  readonly fds: FdTable<LocalEntry>;
  readonly files: SharedFileTable;
  /** Calls parked for this process on this thread, and the same calls by descriptor. */
  readonly parked = new Set<Waiter>();
  readonly parkedOnFd = new Map<number, Set<Waiter>>();
  /** Standard streams installed (counted once for the whole process). */
  readonly stdioCount: number;
  alive = true;

  constructor(
    readonly spec: ProcessSpec,
    readonly sandbox: Sandbox,
  ) {
    this.fds = new FdTable<LocalEntry>(spec.fdClasses, spec.limits.maxFds);
    this.files = new SharedFileTable(spec.shared);
    this.stdioCount = Math.min(3, spec.limits.maxFds);
  }

  get memory() {
    return this.spec.memory;
  }

  get pid(): number {
    return this.spec.pid;
  }

  /** The descriptor class of a call posted to `thread`. */
  classOf(thread: number): number {
    return this.fds.classOf(thread);
  }

  /** Counts `n` new descriptors against the process-wide limit, or fails with EMFILE. */
  reserve(n = 1): void {
    if (!this.files.reserveDescriptors(n, this.stdioCount, this.spec.limits.maxFds)) throw new SysError(EMFILE);
  }

  unreserve(n = 1): void {
    this.files.releaseDescriptors(n);
  }

  /** True when `n` more descriptors fit (without counting them). */
  hasRoom(n = 1): boolean {
    if (!this.files.reserveDescriptors(n, this.stdioCount, this.spec.limits.maxFds)) return false;
    this.files.releaseDescriptors(n);
    return true;
  }

  /** Installs an entry in the class of `thread` (the caller reserved it). */
  install(thread: number, entry: LocalEntry, cloexec: boolean): number {
    return this.fds.allocate(thread, entry, cloexec);
  }

  /** Reserves and installs a new description (EMFILE when the process is full). */
  open(thread: number, d: Description, cloexec: boolean): number {
    this.reserve();
    try {
      return this.install(thread, d, cloexec);
    } catch (e) {
      this.unreserve();
      throw e;
    }
  }

  /** The local description behind `fd` (EBADF when absent, or when it is a file). */
  description(fd: number): Description {
    const e = this.fds.get(fd)?.value;
    if (e === undefined || e instanceof FileHandle) throw new SysError(EBADF);
    return e;
  }

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
