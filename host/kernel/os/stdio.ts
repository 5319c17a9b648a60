import { O_RDONLY, O_WRONLY, POLLIN, POLLOUT, S_IFCHR } from '../../abi/v1.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';
import type { Stdio } from '../kernel.js';
import { Description } from './description.js';
import type { SharedFileTable } from './file-table.js';
import { objectStat, realtimeNow, STDIO_DEV } from './stat-info.js';

/** A terminal-like character device (pts 136:0), as the virtual kernel reports. */
const STDIO_RDEV = 136 << 8;
const time = realtimeNow();

/**
 * fd 0: the spec's stdin bytes, then end of file. Every thread has a fd 0; the bytes consumed are
 * counted in the shared file table, so the stream is read once whichever thread serves the read.
 */
export class StdinDescription extends Description {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly files: SharedFileTable,
  ) {
    super(O_RDONLY);
  }

  override read(sink: ByteSink, peek: boolean): number {
    if (peek) {
      const [start] = this.files.takeStdin(0, this.bytes.length);
      const len = Math.max(0, Math.min(sink.length, this.bytes.length - start));
      if (len > 0) sink.write(0, this.bytes.subarray(start, start + len));
      return len;
    }
    const [start, n] = this.files.takeStdin(sink.length, this.bytes.length);
    if (n > 0) sink.write(0, this.bytes.subarray(start, start + n));
    return n;
  }

  poll(): number {
    return POLLIN;
  }

  stat(): StatInfo {
    return objectStat(STDIO_DEV, 3, S_IFCHR | 0o620, time, STDIO_RDEV);
  }
}

/** fds 1 and 2: every write goes to the embedder's sink at once (a private copy). Always writable. */
export class StdoutDescription extends Description {
  constructor(
    private readonly stdio: Stdio,
    private readonly fd: 1 | 2,
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
    return objectStat(STDIO_DEV, 3 + this.fd, S_IFCHR | 0o620, time, STDIO_RDEV);
  }
}
