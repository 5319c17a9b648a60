import { EAGAIN, EBADF, EINVAL, EISDIR, O_APPEND, SYS_fdatasync } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { mustNotWait, readOrPark, writeOrPark } from '../common/blocking.js';
import type { Description } from '../common/description.js';
import { i64Arg } from '../common/io-calls.js';
import { BytesSource, GuestBuffers, MAX_RW_COUNT } from '../common/iovec.js';
import { PENDING, type Call } from '../kernel.js';
import { DirDescription, FileDescription } from './file.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** sendfile moves at most this much per step, so a huge count never means a huge host buffer. */
const SENDFILE_CHUNK = 64 * 1024;

function readable(p: VirtualProcess, fd: number): Description {
  const d = p.fds.lookup(fd);
  if (!d.readable) throw new SysError(EBADF);
  return d;
}

function writable(p: VirtualProcess, fd: number): Description {
  const d = p.fds.lookup(fd);
  if (!d.writable) throw new SysError(EBADF);
  return d;
}

export function sysRead(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = readable(p, c.a0);
  const sink = GuestBuffers.single(p.memory, c.a1, c.a2);
  return readOrPark(k, p, c, c.a0, d, sink, { peek: false, nonblocking: mustNotWait(c, d) });
}

export function sysReadv(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = readable(p, c.a0);
  const sink = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return readOrPark(k, p, c, c.a0, d, sink, { peek: false, nonblocking: mustNotWait(c, d) });
}

export function sysWrite(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = writable(p, c.a0);
  const source = GuestBuffers.single(p.memory, c.a1, c.a2);
  return writeOrPark(k, p, c, c.a0, d, source, mustNotWait(c, d));
}

export function sysWritev(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = writable(p, c.a0);
  const source = GuestBuffers.fromIovecs(p.memory, c.a1, c.a2);
  return writeOrPark(k, p, c, c.a0, d, source, mustNotWait(c, d));
}

export function sysPread64(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = readable(p, c.a0);
  const position = i64Arg(c.a3, c.a4);
  if (position < 0) return -EINVAL;
  return d.pread(GuestBuffers.single(p.memory, c.a1, c.a2), position);
}

export function sysPwrite64(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = writable(p, c.a0);
  const position = i64Arg(c.a3, c.a4);
  if (position < 0) return -EINVAL;
  return d.pwrite(GuestBuffers.single(p.memory, c.a1, c.a2), position);
}

export function sysLseek(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return p.fds.lookup(c.a0).seek(i64Arg(c.a1, c.a2), c.a3);
}

export function sysClose(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  k.closeFd(p, c.a0);
  return 0;
}

export function sysFstat(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return p.fds.lookup(c.a0).fstat(p.memory, c.a1);
}

export function sysFsync(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return p.fds.lookup(c.a0).sync(c.sysno === SYS_fdatasync);
}

export function sysFtruncate(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const d = p.fds.lookup(c.a0);
  const length = i64Arg(c.a1, c.a2);
  if (length < 0) return -EINVAL;
  return d.truncate(length);
}

export function sysFcntl(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const entry = p.fds.get(c.a0);
  if (entry === undefined) return -EBADF;
  return entry.value.fcntl(entry, c.a1, c.a2);
}

/**
 * sendfile(out_fd, in_fd, offset_ptr, count): copies from a regular file to any writable descriptor,
 * waiting like a write while the target is full. With offset_ptr the file offset stays put and the
 * i64 at offset_ptr is used and advanced instead.
 */
export function sysSendfile(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [outFd, inFd, offsetPtr] = [c.a0, c.a1, c.a2];
  const count = Math.min(c.a3 >>> 0, MAX_RW_COUNT);
  const input = p.fds.lookup(inFd);
  const output = p.fds.lookup(outFd);
  if (!input.readable || !output.writable) return -EBADF;
  if (input instanceof DirDescription) return -EISDIR;
  if (!(input instanceof FileDescription)) return -EINVAL;
  if ((output.statusFlags & O_APPEND) !== 0) return -EINVAL;
  let position = input.position;
  if (offsetPtr !== 0) {
    position = p.memory.i64(offsetPtr);
    if (position < 0) return -EINVAL;
  }
  const nonblocking = mustNotWait(c, output);
  let done = 0;
  const finish = (result: number): number => {
    if (offsetPtr !== 0) p.memory.setI64(offsetPtr, position);
    return result;
  };
  const attempt = (): number => {
    while (done < count) {
      const chunk = input.file.read(position, Math.min(SENDFILE_CHUNK, count - done));
      if (chunk.length === 0) break;
      let r: number;
      try {
        r = output.write(new BytesSource(chunk), 0);
      } catch (e) {
        if (!(e instanceof SysError)) throw e;
        r = -e.errno;
      }
      if (r === -EAGAIN && !nonblocking) return PENDING;
      if (r < 0) return finish(done > 0 ? done : r);
      done += r;
      position += r;
      if (offsetPtr === 0) input.position = position;
      if (r < chunk.length && nonblocking) break;
    }
    return finish(done);
  };
  const r = attempt();
  if (r !== PENDING) return r;
  return k.sched.park(p, c, {
    fd: outFd,
    on: [output],
    attempt,
    interrupted: (e) => finish(done > 0 ? done : -e),
  });
}
