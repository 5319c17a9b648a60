import { EBADF, EINVAL, ENOTDIR, ESPIPE, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_CLOEXEC, SYS_fdatasync } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { mustNotWait, readOrPark, writeOrPark } from '../common/blocking.js';
import type { Description } from '../common/description.js';
import type { FdEntry } from '../common/fd-table.js';
import { fcntlDescription, i64Arg, SETFL_MASK } from '../common/io-calls.js';
import { GuestBuffers } from '../common/iovec.js';
import { writeStat } from '../common/stat.js';
import type { Call } from '../kernel.js';
import { getdentsSlot } from './file-calls.js';
import { acquireFile, NOT_A_FILE, readFile, seekFile, syncFile, truncateFile, writeFile } from './file-io.js';
import type { FsOp } from './fs-driver.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/**
 * Runs a call on descriptor `fd`: `onFile` when it is a file or directory (of any thread: the slot is
 * acquired here and released when the file operation ends), `onLocal` when it is a socket, pipe,
 * epoll set or standard stream of this thread. EBADF when it is neither.
 */
function onDescriptor(
  k: OsKernel,
  p: OsProcess,
  c: Call,
  fd: number,
  onLocal: (d: Description) => number,
  onFile: (slot: number) => FsOp<number>,
): number {
  const slot = acquireFile(p, c, fd);
  if (slot === NOT_A_FILE) return onLocal(p.description(fd));
  if (slot < 0) return -EBADF;
  let op: FsOp<number>;
  try {
    op = onFile(slot);
  } catch (e) {
    k.releaseFile(slot, p);
    throw e;
  }
  return k.runFs(p, c, op, (r) => r, undefined, slot);
}

function readLocal(k: OsKernel, p: OsProcess, c: Call, d: Description, sink: GuestBuffers): number {
  if (!d.readable) return -EBADF;
  return readOrPark(k, p, c, c.a0, d, sink, { peek: false, nonblocking: mustNotWait(c, d) });
}

function writeLocal(k: OsKernel, p: OsProcess, c: Call, d: Description, source: GuestBuffers): number {
  if (!d.writable) return -EBADF;
  return writeOrPark(k, p, c, c.a0, d, source, mustNotWait(c, d));
}

export function sysRead(k: OsKernel, p: OsProcess, c: Call): number {
  const buffers = GuestBuffers.single(p.memory, c.a1, c.a2);
  return onDescriptor(k, p, c, c.a0, (d) => readLocal(k, p, c, d, buffers), (s) => readFile(p.files, s, buffers, null));
}

export function sysReadv(k: OsKernel, p: OsProcess, c: Call): number {
  const buffers = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return onDescriptor(k, p, c, c.a0, (d) => readLocal(k, p, c, d, buffers), (s) => readFile(p.files, s, buffers, null));
}

export function sysWrite(k: OsKernel, p: OsProcess, c: Call): number {
  const buffers = GuestBuffers.single(p.memory, c.a1, c.a2);
  return onDescriptor(k, p, c, c.a0, (d) => writeLocal(k, p, c, d, buffers), (s) => writeFile(p.files, s, buffers, null));
}

export function sysWritev(k: OsKernel, p: OsProcess, c: Call): number {
  const buffers = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return onDescriptor(k, p, c, c.a0, (d) => writeLocal(k, p, c, d, buffers), (s) => writeFile(p.files, s, buffers, null));
}

export function sysPread64(k: OsKernel, p: OsProcess, c: Call): number {
  const position = i64Arg(c.a3, c.a4);
  return onDescriptor(
    k,
    p,
    c,
    c.a0,
    (d) => (d.readable ? -ESPIPE : -EBADF),
    (s) => {
      if (position < 0) throw new SysError(EINVAL);
      return readFile(p.files, s, GuestBuffers.single(p.memory, c.a1, c.a2), position);
    },
  );
}

export function sysPwrite64(k: OsKernel, p: OsProcess, c: Call): number {
  const position = i64Arg(c.a3, c.a4);
  return onDescriptor(
    k,
    p,
    c,
    c.a0,
    (d) => (d.writable ? -ESPIPE : -EBADF),
    (s) => {
      if (position < 0) throw new SysError(EINVAL);
      return writeFile(p.files, s, GuestBuffers.single(p.memory, c.a1, c.a2), position);
    },
  );
}

export function sysLseek(k: OsKernel, p: OsProcess, c: Call): number {
  return onDescriptor(k, p, c, c.a0, () => -ESPIPE, (s) => seekFile(p.files, s, i64Arg(c.a1, c.a2), c.a3));
}

export function sysFstat(k: OsKernel, p: OsProcess, c: Call): number {
  return k.fstat(p, c, c.a0, c.a1);
}

export function sysFsync(k: OsKernel, p: OsProcess, c: Call): number {
  const dataOnly = c.sysno === SYS_fdatasync;
  return onDescriptor(k, p, c, c.a0, () => -EINVAL, (s) => syncFile(p.files, s, dataOnly));
}

export function sysFtruncate(k: OsKernel, p: OsProcess, c: Call): number {
  return onDescriptor(k, p, c, c.a0, () => -EINVAL, (s) => truncateFile(p.files, s, i64Arg(c.a1, c.a2)));
}

export function sysGetdents64(k: OsKernel, p: OsProcess, c: Call): number {
  const slot = acquireFile(p, c, c.a0);
  if (slot === NOT_A_FILE) return -ENOTDIR;
  if (slot < 0) return -EBADF;
  return getdentsSlot(k, p, c, slot);
}

export function sysClose(k: OsKernel, p: OsProcess, c: Call): number {
  return k.closeFd(p, c.a0);
}

/** fcntl: F_GETFD/F_SETFD (close-on-exec), F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK); others EINVAL. */
export function sysFcntl(k: OsKernel, p: OsProcess, c: Call): number {
  const [fd, cmd, arg] = [c.a0, c.a1, c.a2];
  const slot = acquireFile(p, c, fd);
  // A socket, pipe, epoll set or standard stream keeps its flags on its description.
  if (slot === NOT_A_FILE) return fcntlDescription(p.fds.get(fd)! as FdEntry<Description>, cmd, arg);
  if (slot < 0) return -EBADF;
  // Files keep their flags (close-on-exec included) in the shared table, so any thread agrees.
  try {
    const t = p.files;
    const flags = t.flags(slot);
    switch (cmd) {
      case F_GETFD:
        return (flags & O_CLOEXEC) !== 0 ? FD_CLOEXEC : 0;
      case F_SETFD:
        t.setFlags(slot, (arg & FD_CLOEXEC) !== 0 ? flags | O_CLOEXEC : flags & ~O_CLOEXEC);
        return 0;
      case F_GETFL:
        return flags & ~O_CLOEXEC;
      case F_SETFL:
        t.setFlags(slot, (flags & ~SETFL_MASK) | (arg & SETFL_MASK));
        return 0;
      default:
        return -EINVAL;
    }
  } finally {
    k.releaseFile(slot, p);
  }
}

/** fstat of a local description, synchronously (used by fstat and newfstatat with AT_EMPTY_PATH). */
export function fstatLocal(p: OsProcess, d: Description, statPtr: number): number {
  writeStat(p.memory, statPtr, d.stat());
  return 0;
}
