import { EAGAIN, O_WRONLY, POLLOUT, S_IFCHR } from '../../abi/v1.js';
import { STDIO_QUEUE_LIMIT, type Stdio } from '../kernel.js';
import { Description } from './description.js';
import type { ByteSource } from './iovec.js';
import { objectStat, STDIO_DEV, STDIO_RDEV, type StatInfo } from './stat.js';
import type { Timespec } from './time.js';

/** What fstat says about a standard stream: a terminal-like character device. */
export function stdioStat(ino: number, time: Timespec, blksize: number): StatInfo {
  return objectStat(STDIO_DEV, ino, S_IFCHR | 0o620, time, STDIO_RDEV, 1, blksize);
}

/**
 * fds 1 and 2: every write goes to the embedder's sink (a private copy). Back-pressure as a pipe's:
 * when the sink says how much it has not taken yet (Stdio.queued), a write finds room only below
 * STDIO_QUEUE_LIMIT; a full stream makes a write wait (-EAGAIN to the machinery that parks it, or to
 * a guest that may not wait) until the sink drains. A guest writing to a pipe nobody reads then
 * stops, instead of the host buffering without end. (fd 0 differs between the kernels: see their
 * stdio.ts.)
 */
export class StdoutDescription extends Description {
  private waiting = false;

  constructor(
    private readonly stdio: Stdio,
    private readonly fd: 1 | 2,
    private readonly info: StatInfo,
  ) {
    super(O_WRONLY);
  }

  override write(source: ByteSource, start: number): number {
    const n = Math.min(source.length - start, this.writeRoom());
    if (n <= 0) {
      if (source.length - start <= 0) return 0;
      this.awaitDrain();
      return -EAGAIN;
    }
    this.stdio.write(this.fd, source.read(start, n));
    return n;
  }

  override writeRoom(): number {
    const queued = this.stdio.queued?.(this.fd);
    return queued === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, STDIO_QUEUE_LIMIT - queued);
  }

  /** Tells the calls waiting for room once the sink has taken some. */
  private awaitDrain(): void {
    if (this.waiting || this.stdio.whenDrained === undefined) return;
    this.waiting = true;
    this.stdio.whenDrained(this.fd, () => {
      this.waiting = false;
      this.changed();
    });
  }

  poll(): number {
    if (this.writeRoom() > 0) return POLLOUT;
    this.awaitDrain();
    return 0;
  }

  stat(): StatInfo {
    return this.info;
  }
}
