import {
  EAGAIN,
  EINVAL,
  EPIPE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  S_IFIFO,
} from '../../abi/v1.js';
import type { Call } from '../kernel.js';
import { ByteQueue } from './byte-queue.js';
import type { KernelCore } from './core.js';
import { Description } from './description.js';
import type { ByteSink, ByteSource } from './iovec.js';
import type { ProcessBase } from './process.js';
import { objectStat, PIPEFS_DEV, type StatInfo } from './stat.js';
import type { Timespec } from './time.js';

/** Linux's default pipe capacity (16 pages). */
export const PIPE_CAPACITY = 64 * 1024;
/** Writes of at most PIPE_BUF bytes are atomic: all or nothing, never interleaved. */
export const PIPE_BUF = 4096;

/**
 * An in-memory pipe, in both kernels: its two ends live where pipe2 ran (in the os kernel, on the
 * calling thread), and nothing of the host is involved.
 */
class Pipe {
  readonly buffer = new ByteQueue();
  readOpen = true;
  writeOpen = true;
  readonly readEnd: PipeReadEnd;
  readonly writeEnd: PipeWriteEnd;

  constructor(
    readonly ino: number,
    readonly time: Timespec,
    statusFlags: number,
  ) {
    this.readEnd = new PipeReadEnd(this, statusFlags);
    this.writeEnd = new PipeWriteEnd(this, statusFlags);
  }

  get room(): number {
    return PIPE_CAPACITY - this.buffer.length;
  }

  changed(): void {
    this.readEnd.changed();
    this.writeEnd.changed();
  }

  stat(): StatInfo {
    return objectStat(PIPEFS_DEV, this.ino, S_IFIFO | 0o600, this.time);
  }
}

class PipeReadEnd extends Description {
  constructor(
    private readonly pipe: Pipe,
    statusFlags: number,
  ) {
    super(O_RDONLY, statusFlags);
  }

  /** What is buffered (never waiting for more), 0 once no writer is left, else -EAGAIN. */
  override read(sink: ByteSink, peek: boolean): number {
    if (sink.length === 0) return 0;
    const p = this.pipe;
    if (p.buffer.length === 0) return p.writeOpen ? -EAGAIN : 0;
    const n = p.buffer.copyTo(sink, peek);
    if (!peek) p.changed();
    return n;
  }

  poll(): number {
    const p = this.pipe;
    return (p.buffer.length > 0 ? POLLIN : 0) | (p.writeOpen ? 0 : POLLHUP);
  }

  stat(): StatInfo {
    return this.pipe.stat();
  }

  override release(): void {
    this.pipe.readOpen = false;
    this.pipe.buffer.clear();
    this.pipe.changed();
    super.release();
  }
}

class PipeWriteEnd extends Description {
  constructor(
    private readonly pipe: Pipe,
    statusFlags: number,
  ) {
    super(O_WRONLY, statusFlags);
  }

  /** What fits (all of a write of at most PIPE_BUF bytes, or nothing), -EAGAIN when full, -EPIPE without reader. */
  override write(source: ByteSource, start: number): number {
    const p = this.pipe;
    const left = source.length - start;
    if (left === 0) return 0;
    if (!p.readOpen) return -EPIPE;
    const room = p.room;
    if (room === 0 || (source.length <= PIPE_BUF && room < left)) return -EAGAIN;
    const n = Math.min(room, left);
    p.buffer.push(source.read(start, n));
    p.changed();
    return n;
  }

  override writeRoom(): number {
    return this.pipe.readOpen ? this.pipe.room : 0;
  }

  override writeError(): number {
    return this.pipe.readOpen ? 0 : -EPIPE;
  }

  /** Writable while a PIPE_BUF write would fit (Linux: at least one free page). */
  poll(): number {
    const p = this.pipe;
    return (p.room >= PIPE_BUF ? POLLOUT : 0) | (p.readOpen ? 0 : POLLERR);
  }

  stat(): StatInfo {
    return this.pipe.stat();
  }

  override release(): void {
    this.pipe.writeOpen = false;
    this.pipe.changed();
    super.release();
  }
}

/** pipe2(fds, flags): both ends in the class of the calling thread, read end first. */
export function sysPipe2(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const [fdsPtr, flags] = [c.a0, c.a1];
  if ((flags & ~(O_NONBLOCK | O_CLOEXEC)) !== 0) return -EINVAL;
  p.memory.check(fdsPtr, 8);
  p.reserve(2);
  const pipe = new Pipe(k.newIno(), k.realtime(), flags & O_NONBLOCK);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const r = p.install(c.thread, pipe.readEnd, cloexec);
  const w = p.install(c.thread, pipe.writeEnd, cloexec);
  p.memory.setI32(fdsPtr, r);
  p.memory.setI32(fdsPtr + 4, w);
  return 0;
}
