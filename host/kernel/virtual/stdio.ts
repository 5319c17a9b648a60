import { O_RDONLY, O_WRONLY, POLLIN, POLLOUT, S_IFCHR } from '../../abi/v1.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';
import type { Timespec } from '../common/time.js';
import type { Stdio } from '../kernel.js';
import { Description } from './description.js';

/** Device and rdev the standard streams report: a terminal-like character device (pts 136:0). */
const STDIO_DEV = 0x16;
const STDIO_RDEV = 136 << 8;

function stdioStat(ino: number, time: Timespec): StatInfo {
  return {
    dev: STDIO_DEV,
    ino,
    nlink: 1,
    mode: S_IFCHR | 0o620,
    uid: 0,
    gid: 0,
    rdev: STDIO_RDEV,
    size: 0,
    blksize: 1024,
    blocks: 0,
    atime: time,
    mtime: time,
    ctime: time,
  };
}

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
    return stdioStat(this.ino, this.time);
  }
}

/** fds 1 and 2: every write goes to the embedder's sink at once (a private copy). Always writable. */
export class StdoutDescription extends Description {
  constructor(
    private readonly stdio: Stdio,
    private readonly fd: 1 | 2,
    private readonly ino: number,
    private readonly time: Timespec,
  ) {
    super(O_WRONLY);
  }

  override write(source: ByteSource, start: number): number {
    const n = source.length - start;
    if (n > 0) this.stdio.write(this.fd, source.read(start, n));
    return n;
  }

  poll(): number {
    return POLLOUT;
  }

  stat(): StatInfo {
    return stdioStat(this.ino, this.time);
  }
}
