import { O_WRONLY, POLLOUT, S_IFCHR } from '../../abi/v1.js';
import type { Stdio } from '../kernel.js';
import { Description } from './description.js';
import type { ByteSource } from './iovec.js';
import { objectStat, STDIO_DEV, STDIO_RDEV, type StatInfo } from './stat.js';
import type { Timespec } from './time.js';

/** What fstat says about a standard stream: a terminal-like character device. */
export function stdioStat(ino: number, time: Timespec, blksize: number): StatInfo {
  return objectStat(STDIO_DEV, ino, S_IFCHR | 0o620, time, STDIO_RDEV, 1, blksize);
}

/**
 * fds 1 and 2: every write goes to the embedder's sink at once (a private copy). Always writable.
 * (fd 0 differs between the kernels: see their stdio.ts.)
 */
export class StdoutDescription extends Description {
  constructor(
    private readonly stdio: Stdio,
    private readonly fd: 1 | 2,
    private readonly info: StatInfo,
  ) {
    super(O_WRONLY);
  }

  override write(source: ByteSource, start: number): number {
    const n = source.length - start;
    if (n > 0) this.stdio.write(this.fd, source.read(start, n));
    return n;
  }

  override writeRoom(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  poll(): number {
    return POLLOUT;
  }

  stat(): StatInfo {
    return this.info;
  }
}
