import { EAGAIN, EBADF, EINVAL, EISDIR, O_APPEND } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { BytesSource, MAX_RW_COUNT } from '../common/iovec.js';
import { mustNotWait } from '../common/blocking.js';
import type { Waiter } from '../common/scheduler.js';
import { PENDING, type Call } from '../kernel.js';
import type { Description } from '../common/description.js';
import { OsFile, type OsDescription } from './file-description.js';
import { canRead, canWrite } from './file-io.js';
import { FileKind } from './file-table.js';
import { fsReadv, fsWritev, type FsOp } from './fs-driver.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { TcpSocket } from './socket.js';

/** sendfile moves at most this much per step, so a huge count never means a huge host buffer. */
export const SENDFILE_CHUNK = 64 * 1024;

/**
 * sendfile(out_fd, in_fd, offset_ptr, count): copies from a regular file (of any thread) to a
 * socket, pipe or standard stream of this thread, or to another file, through host buffers only:
 * the data never passes through guest memory. Each step reads at most what the output can take
 * right now (a socket's room under its send bound), so back-pressure holds and nothing read is
 * left over; a blocking call waits for room like a write, a non-blocking one (EF_NOWAIT,
 * O_NONBLOCK on out_fd) returns what it sent or -EAGAIN. With offset_ptr the file offset stays
 * put and the i64 at offset_ptr is used and advanced; without, the file offset advances. A
 * cancellation or close of out_fd ends the call with the count sent so far (or the error).
 */
export function sysSendfile(k: OsKernel, p: OsProcess, c: Call): number {
  const [outFd, inFd, offsetPtr] = [c.a0, c.a1, c.a2];
  const count = Math.min(c.a3 >>> 0, MAX_RW_COUNT);
  const input = k.descriptor(p, c, inFd);
  let output: OsDescription | null = null;
  const release = (): void => {
    k.endCall(input);
    if (output !== null) k.endCall(output);
  };
  try {
    // Linux looks up the output descriptor before it finds that the input cannot be read from.
    if (!(input instanceof OsFile)) {
      output = k.descriptor(p, c, outFd);
      throw new SysError(EINVAL);
    }
    const t = p.files;
    const inSlot = input.slot;
    if (!canRead(t.flags(inSlot))) throw new SysError(EBADF);
    if (t.kind(inSlot) !== FileKind.File) throw new SysError(EISDIR);
    output = k.descriptor(p, c, outFd);
    if (output instanceof OsFile) {
      const flags = t.flags(output.slot);
      if (t.kind(output.slot) !== FileKind.File || !canWrite(flags)) throw new SysError(EBADF);
      if ((flags & O_APPEND) !== 0) throw new SysError(EINVAL);
    } else if (!output.writable) throw new SysError(EBADF);
    let start: number;
    if (offsetPtr !== 0) {
      start = p.memory.i64(offsetPtr);
      if (start < 0) throw new SysError(EINVAL);
    } else start = t.reserve(inSlot, count);
    const finish = (sent: number): void => {
      if (offsetPtr !== 0) {
        if (p.alive) p.memory.setI64(offsetPtr, start + sent);
      } else t.settle(inSlot, start, count, sent);
    };
    if (count === 0) {
      finish(0);
      release();
      return 0;
    }
    if (output instanceof OsFile) {
      const done = (r: number): number => {
        release();
        return r;
      };
      return k.runFs(p, c, fileToFile(p, inSlot, output.slot, start, count, finish), done, release);
    }
    return new SendJob(k, p, c, outFd, output, inSlot, start, count, finish, release).begin();
  } catch (e) {
    release();
    throw e;
  }
}

/** File to file: no readiness to wait for, one file operation. */
function* fileToFile(
  p: OsProcess,
  inSlot: number,
  outSlot: number,
  start: number,
  count: number,
  finish: (sent: number) => void,
): FsOp<number> {
  const t = p.files;
  const buf = Buffer.allocUnsafe(Math.min(SENDFILE_CHUNK, count));
  let sent = 0;
  try {
    while (sent < count) {
      const want = Math.min(buf.length, count - sent);
      const got = yield* fsReadv(t.hostFd(inSlot), [buf.subarray(0, want)], start + sent);
      if (got === 0) break;
      const at = t.reserve(outSlot, got);
      let wrote = 0;
      try {
        wrote = yield* fsWritev(t.hostFd(outSlot), [buf.subarray(0, got)], at);
      } finally {
        t.settle(outSlot, at, got, wrote);
      }
      sent += wrote;
      if (wrote < got) break;
    }
  } catch (e) {
    finish(sent);
    if (sent > 0) return sent;
    throw e;
  }
  finish(sent);
  return sent;
}

/** File to a stream of this thread: reads sized by the room the stream has, waits like a write. */
class SendJob {
  private sent = 0;
  private reading = false;
  private eof = false;
  private failed = 0;
  private carry: Uint8Array | null = null;
  private finished = false;
  private released = false;
  private waiter: Waiter | null = null;
  private readonly nonblocking: boolean;

  constructor(
    private readonly k: OsKernel,
    private readonly p: OsProcess,
    private readonly c: Call,
    private readonly outFd: number,
    private readonly out: Description,
    private readonly inSlot: number,
    private readonly start: number,
    private readonly count: number,
    private readonly onFinish: (sent: number) => void,
    private readonly release: () => void,
  ) {
    this.nonblocking = mustNotWait(c, out);
  }

  begin(): number {
    const r = this.step();
    if (r !== PENDING) return r;
    return this.k.sched.park(this.p, this.c, {
      fd: this.outFd,
      on: [this.out],
      attempt: () => this.step(),
      interrupted: (errno) => this.end(this.sent > 0 ? this.sent : -errno),
      abandon: () => this.end(0),
      onParked: (w) => (this.waiter = w),
    });
  }

  /** Moves what it can: the result, or PENDING while waiting for room or for a file read. */
  private step(): number {
    for (;;) {
      if (this.finished) return PENDING;
      if (this.carry !== null) {
        const r = this.out.write(new BytesSource(this.carry), 0);
        if (r === -EAGAIN) {
          if (this.nonblocking) return this.end(this.sent > 0 ? this.sent : -EAGAIN);
          return PENDING;
        }
        if (r < 0) return this.end(this.sent > 0 ? this.sent : r);
        this.sent += r;
        this.carry = r < this.carry.length ? this.carry.subarray(r) : null;
        continue;
      }
      if (this.failed !== 0) return this.end(this.sent > 0 ? this.sent : -this.failed);
      if (this.sent >= this.count || this.eof) return this.end(this.sent);
      if (this.reading) return PENDING;
      const out = this.out;
      const err = out.writeError(false);
      if (err < 0) return this.end(this.sent > 0 ? this.sent : out.writeError(true));
      const room = out.writeRoom();
      if (room === 0) return this.nonblocking ? this.end(this.sent > 0 ? this.sent : -EAGAIN) : PENDING;
      this.read(Math.min(room, SENDFILE_CHUNK, this.count - this.sent));
    }
  }

  /** Reads the next chunk into a host buffer; with the synchronous driver it is there on return. */
  private read(n: number): void {
    const buf = Buffer.allocUnsafe(n);
    const position = this.start + this.sent;
    this.reading = true;
    let sync = true;
    this.k.fsd.run(fsReadv(this.p.files.hostFd(this.inSlot), [buf], position), (error, got) => {
      this.reading = false;
      if (this.finished) {
        this.releaseOnce();
        return;
      }
      if (error) this.failed = this.k.sched.errorResult(error) * -1;
      else if (got === 0) this.eof = true;
      else this.deliver(buf.subarray(0, got!));
      if (!sync) this.waiter?.notify();
    });
    sync = false;
  }

  /** Hands a chunk to the stream (a socket takes it whole: the read was sized by its room). */
  private deliver(chunk: Uint8Array): void {
    const out = this.out;
    if (out instanceof TcpSocket && out.writeError(false) === 0 && out.writeRoom() >= chunk.length) {
      out.send(chunk);
      this.sent += chunk.length;
    } else this.carry = chunk;
  }

  private end(result: number): number {
    if (!this.finished) {
      this.finished = true;
      this.onFinish(this.sent);
      // A read in flight still uses the input's host fd: release when it lands.
      if (!this.reading) this.releaseOnce();
    }
    return result;
  }

  private releaseOnce(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }
}
