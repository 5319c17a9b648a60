import { O_RDONLY, POLLIN } from '../../abi/v1.js';
import { Description } from '../common/description.js';
import type { ByteSink } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';
import { stdioStat, StdoutDescription } from '../common/stdio.js';
import type { Stdio } from '../kernel.js';
import type { SharedFileTable } from './file-table.js';
import { realtimeNow } from './stat-info.js';

const time = realtimeNow();
/** The page size, as for every object the os kernel makes up. */
const STDIO_BLKSIZE = 4096;

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
    return stdinStat();
  }
}

/** fd 0's fstat (inode 3 on every thread; bytes or a stream alike). */
export function stdinStat(): StatInfo {
  return stdioStat(3, time, STDIO_BLKSIZE);
}

/** fds 1 and 2 (inodes 4 and 5, the same on every thread). */
export function stdoutDescription(stdio: Stdio, fd: 1 | 2): StdoutDescription {
  return new StdoutDescription(stdio, fd, stdioStat(3 + fd, time, STDIO_BLKSIZE));
}

export { StdoutDescription };
