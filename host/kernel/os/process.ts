import { EBADF, EMFILE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { Description } from '../common/description.js';
import { ProcessBase } from '../common/process.js';
import type { ProcessSpec } from '../kernel.js';
import { SharedFileTable } from './file-table.js';
import type { Sandbox } from './sandbox.js';

/** A file or directory descriptor of this thread: its slot in the shared file table. */
export class FileHandle {
  constructor(public slot: number) {}
}

/** What a descriptor of this thread refers to. */
export type LocalEntry = Description | FileHandle;

/**
 * A guest as one os kernel instance (one syscall thread) sees it: the descriptors of this thread's
 * class (plus the standard streams, present on every thread), the calls parked here, and views of
 * what all threads of the process share (the file table and the descriptor count, in
 * ProcessSpec.shared).
 */
export class OsProcess extends ProcessBase<LocalEntry> {
  readonly files: SharedFileTable;
  /** Standard streams installed (counted once for the whole process). */
  readonly stdioCount: number;

  constructor(
    spec: ProcessSpec,
    readonly sandbox: Sandbox,
  ) {
    super(spec);
    if (!spec.shared) throw new Error('the os kernel needs ProcessSpec.shared (its module\'s processSharedBytes)');
    this.files = new SharedFileTable(spec.shared);
    this.stdioCount = Math.min(3, spec.limits.maxFds);
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

  /** The local description behind `fd` (EBADF when absent, or when it is a file). */
  description(fd: number): Description {
    const e = this.fds.get(fd)?.value;
    if (e === undefined || e instanceof FileHandle) throw new SysError(EBADF);
    return e;
  }
}
