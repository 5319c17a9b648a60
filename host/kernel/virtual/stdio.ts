import { O_RDONLY, POLLIN } from '../../abi/v1.js';
import { Description } from '../common/description.js';
import type { ByteSink } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';
import { stdioStat, StdoutDescription } from '../common/stdio.js';
import type { Timespec } from '../common/time.js';
import type { Stdio } from '../kernel.js';

/** st_blksize of the standard streams (the os kernel reports the page size it uses everywhere). */
const STDIO_BLKSIZE = 1024;

/** fd 0: the spec's stdin bytes, then end of file. Never waits. */
export class StdinDescription extends Description {
  private position = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly ino: number,
    private readonly time: Timespec,
  ) {
    super(O_RDONLY);
  }

  /** One guest reads it (the virtual kernel is one instance), so it keeps its own position. */
  override read(sink: ByteSink): number {
    const n = Math.min(sink.length, this.bytes.length - this.position);
    if (n > 0) sink.write(0, this.bytes.subarray(this.position, this.position + n));
    this.position += n;
    return n;
  }

  poll(): number {
    return POLLIN;
  }

  stat(): StatInfo {
    return stdinStat(this.ino, this.time);
  }
}

/** fd 0's fstat (bytes or a stream alike). */
export function stdinStat(ino: number, time: Timespec): StatInfo {
  return stdioStat(ino, time, STDIO_BLKSIZE);
}

/** fds 1 and 2. */
export function stdoutDescription(stdio: Stdio, fd: 1 | 2, ino: number, time: Timespec): StdoutDescription {
  return new StdoutDescription(stdio, fd, stdioStat(ino, time, STDIO_BLKSIZE));
}
