import { EBADF, EINVAL, ESPIPE, SYS_fdatasync } from '../../abi/v1.js';
import { mustNotWait, readOrPark, writeOrPark } from '../common/blocking.js';
import { i64Arg } from '../common/io-calls.js';
import { GuestBuffers, MAX_RW_COUNT } from '../common/iovec.js';
import type { Call } from '../kernel.js';
import type { OsDescription } from './file-description.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/*
 * The descriptor calls: each looks the descriptor up (a file of any thread included) and asks its
 * description, whatever kind it is (OsKernel.useDescription). Sockets, pipes and standard streams
 * answer at once or park the call until they are ready; files answer with a step the kernel's file
 * driver runs.
 */

function read(k: OsKernel, p: OsProcess, c: Call, d: OsDescription, sink: GuestBuffers) {
  if (!d.readable) return -EBADF;
  return readOrPark(k, p, c, c.a0, d, sink, { peek: false, nonblocking: mustNotWait(c, d) });
}

function write(k: OsKernel, p: OsProcess, c: Call, d: OsDescription, source: GuestBuffers) {
  if (!d.writable) return -EBADF;
  return writeOrPark(k, p, c, c.a0, d, source, mustNotWait(c, d));
}

export function sysRead(k: OsKernel, p: OsProcess, c: Call): number {
  const sink = GuestBuffers.single(p.memory, c.a1, c.a2);
  return k.useDescription(p, c, c.a0, (d) => read(k, p, c, d, sink));
}

export function sysReadv(k: OsKernel, p: OsProcess, c: Call): number {
  const sink = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return k.useDescription(p, c, c.a0, (d) => read(k, p, c, d, sink));
}

export function sysWrite(k: OsKernel, p: OsProcess, c: Call): number {
  const source = GuestBuffers.single(p.memory, c.a1, c.a2);
  return k.useDescription(p, c, c.a0, (d) => write(k, p, c, d, source));
}

export function sysWritev(k: OsKernel, p: OsProcess, c: Call): number {
  const source = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return k.useDescription(p, c, c.a0, (d) => write(k, p, c, d, source));
}

// A description that is not positional answers ESPIPE (or EBADF) before the buffer is looked at, as on Linux.
export function sysPread64(k: OsKernel, p: OsProcess, c: Call): number {
  const position = i64Arg(c.a3, c.a4);
  return k.useDescription(p, c, c.a0, (d) => {
    if (!d.positional) return d.readable ? -ESPIPE : -EBADF;
    if (position < 0) return -EINVAL;
    return d.pread(GuestBuffers.single(p.memory, c.a1, c.a2), position);
  });
}

export function sysPwrite64(k: OsKernel, p: OsProcess, c: Call): number {
  const position = i64Arg(c.a3, c.a4);
  return k.useDescription(p, c, c.a0, (d) => {
    if (!d.positional) return d.writable ? -ESPIPE : -EBADF;
    if (position < 0) return -EINVAL;
    return d.pwrite(GuestBuffers.single(p.memory, c.a1, c.a2), position);
  });
}

export function sysLseek(k: OsKernel, p: OsProcess, c: Call): number {
  return k.useDescription(p, c, c.a0, (d) => d.seek(i64Arg(c.a1, c.a2), c.a3));
}

export function sysFstat(k: OsKernel, p: OsProcess, c: Call): number {
  return k.fstat(p, c, c.a0, c.a1);
}

export function sysFsync(k: OsKernel, p: OsProcess, c: Call): number {
  return k.useDescription(p, c, c.a0, (d) => d.sync(c.sysno === SYS_fdatasync));
}

export function sysFtruncate(k: OsKernel, p: OsProcess, c: Call): number {
  return k.useDescription(p, c, c.a0, (d) => d.truncate(i64Arg(c.a1, c.a2)));
}

export function sysGetdents64(k: OsKernel, p: OsProcess, c: Call): number {
  return k.useDescription(p, c, c.a0, (d) => d.getdents(p.memory, c.a1, Math.min(c.a2 >>> 0, MAX_RW_COUNT)));
}

export function sysClose(k: OsKernel, p: OsProcess, c: Call): number {
  return k.closeFd(p, c.a0);
}

/** fcntl: F_GETFD/F_SETFD (close-on-exec), F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK); others EINVAL. */
export function sysFcntl(k: OsKernel, p: OsProcess, c: Call): number {
  const [fd, cmd, arg] = [c.a0, c.a1, c.a2];
  // A file of another thread has no entry here: its flags, close-on-exec included, are in the shared table.
  return k.useDescription(p, c, fd, (d) => d.fcntl(p.fds.get(fd) ?? { cloexec: false }, cmd, arg));
}
