import { EBADF, EMFILE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { ProcessBase } from '../common/process.js';
import type { ProcessSpec } from '../kernel.js';
import { OsFile, type OsDescription } from './file-description.js';
import { SharedFileTable } from './file-table.js';
import type { Sandbox } from './sandbox.js';

/**
 * A guest as one os kernel instance (one syscall thread) sees it: the descriptors of this thread's
 * class (plus the standard streams, present on every thread), the calls parked here, and views of
 * what all threads of the process share (the file table and the descriptor count, in
 * ProcessSpec.shared).
 */
export class OsProcess extends ProcessBase<OsDescription> {
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

  /**
   * The socket, pipe, epoll set or standard stream behind `fd` (EBADF when absent, or when it is a
   * file: files are reached through OsKernel.descriptor, which holds them for the call).
   */
  description(fd: number): OsDescription {
    const e = this.fds.get(fd)?.value;
    if (e === undefined || e instanceof OsFile) throw new SysError(EBADF);
    return e;
  }
}
