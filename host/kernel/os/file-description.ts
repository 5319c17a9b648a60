import * as fs from 'node:fs';
import { EINVAL, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_CLOEXEC } from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { Description, SETFL_MASK, type CloexecHolder } from '../common/description.js';
import { GuestBuffers, type ByteSink, type ByteSource } from '../common/iovec.js';
import { FILE_READY } from '../common/poll.js';
import type { StatInfo } from '../common/stat.js';
import { direntsOp } from './dirents.js';
import { dirComponents, fstatFile, readFile, seekFile, syncFile, truncateFile, writeFile } from './file-io.js';
import { FileKind } from './file-table.js';
import type { FsOp } from './fs-driver.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { hostStat } from './stat-info.js';

/** What an os file operation answers instead of a result: a file operation the kernel's driver runs. */
export type FileStep = FsOp<number>;

/**
 * Any descriptor of the os kernel: a socket, pipe, epoll set or standard stream (answers at once,
 * or the call waits for readiness), or a file or directory (answers with steps).
 */
export type OsDescription = Description | OsFile;

/**
 * A regular file or directory of the os kernel: a view of its slot in the process's shared file
 * table. Files are shared by every syscall thread (a host descriptor is process-wide: sendfile from
 * a file opened on another thread, a directory descriptor of another class as a dirfd), so what an
 * open file is (host descriptor, offset, flags, kind, directory path, references) lives in the table,
 * and an OsFile is the descriptor-table entry of a file opened on this thread or, for a file opened
 * on another, a view the kernel makes for one call (OsKernel.descriptor).
 *
 * Every call holds a reference to the slot while it runs (taken when the kernel looks the
 * descriptor up, dropped by endCall when the call ends), so closing the descriptor on its owner
 * thread never closes the host descriptor under a read in flight; the last reference closes it.
 *
 * Its operations answer with a step (FileStep) rather than a result: the kernel runs it with its
 * file driver, inside the call (fs.*Sync) or on libuv's threadpool while the thread serves its
 * sockets (fs-driver.ts). Errors found before any I/O are thrown at once, as other descriptions do.
 */
export class OsFile extends Description<FileStep> {
  constructor(
    private readonly k: OsKernel,
    private readonly p: OsProcess,
    /** The shared-table slot (set once the slot is made, for a file being opened). */
    public slot: number,
    accessMode: number,
  ) {
    super(accessMode);
  }

  override get positional(): boolean {
    return true;
  }

  override read(sink: ByteSink): FileStep {
    return readFile(this.p.files, this.slot, guestBuffers(sink), null);
  }

  override write(source: ByteSource, start: number): FileStep {
    if (start !== 0) throw new Error('a file write is never resumed');
    return writeFile(this.p.files, this.slot, guestBuffers(source), null);
  }

  override pread(sink: ByteSink, position: number): FileStep {
    return readFile(this.p.files, this.slot, guestBuffers(sink), position);
  }

  override pwrite(source: ByteSource, position: number): FileStep {
    return writeFile(this.p.files, this.slot, guestBuffers(source), position);
  }

  override seek(offset: number, whence: number): FileStep {
    return seekFile(this.p.files, this.slot, offset, whence);
  }

  override sync(dataOnly: boolean): FileStep {
    return syncFile(this.p.files, this.slot, dataOnly);
  }

  override truncate(length: number): FileStep {
    return truncateFile(this.p.files, this.slot, length);
  }

  override getdents(_memory: GuestMemory, dirp: number, count: number): FileStep {
    return direntsOp(this.p, this.slot, dirp, count);
  }

  override fstat(_memory: GuestMemory, ptr: number): FileStep {
    return fstatFile(this.p, this.slot, ptr);
  }

  /** What fstat reports, synchronously (the call itself runs fstat() as a step, off the thread when it has sockets). */
  stat(): StatInfo {
    const t = this.p.files;
    if (t.kind(this.slot) === FileKind.SyntheticDir) return this.p.sandbox.syntheticStat(dirComponents(t, this.slot));
    return hostStat(fs.fstatSync(t.hostFd(this.slot), { bigint: true }));
  }

  /** The flags live in the shared table, close-on-exec included, so that every thread agrees. */
  override fcntl(_entry: CloexecHolder, cmd: number, arg: number): number {
    const t = this.p.files;
    const flags = t.flags(this.slot);
    switch (cmd) {
      case F_GETFD:
        return (flags & O_CLOEXEC) !== 0 ? FD_CLOEXEC : 0;
      case F_SETFD:
        t.setFlags(this.slot, (arg & FD_CLOEXEC) !== 0 ? flags | O_CLOEXEC : flags & ~O_CLOEXEC);
        return 0;
      case F_GETFL:
        return flags & ~O_CLOEXEC;
      case F_SETFL:
        t.setFlags(this.slot, (flags & ~SETFL_MASK) | (arg & SETFL_MASK));
        return 0;
      default:
        return -EINVAL;
    }
  }

  /** Regular files and directories are always ready, as on Linux. */
  poll(): number {
    return FILE_READY;
  }

  /** The call that looked the descriptor up has ended: its reference to the slot goes. */
  endCall(): void {
    this.k.releaseFile(this.slot, this.p);
  }

  /** close(): the descriptor leaves the table; the host descriptor closes with the last reference. */
  override release(): void {
    this.k.closeHost(this.p.files.close(this.slot));
    super.release();
  }
}

/** File I/O moves bytes straight between the host file and guest memory: every caller passes guest buffers. */
function guestBuffers(b: ByteSink | ByteSource): GuestBuffers {
  if (!(b instanceof GuestBuffers)) throw new Error('an os file reads and writes guest buffers only');
  return b;
}
