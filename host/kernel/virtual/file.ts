import { EINVAL, EISDIR, ENXIO, O_APPEND, POLLIN, POLLOUT, SEEK_CUR, SEEK_END, SEEK_SET } from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { DirentWriter } from '../common/dirent.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import { nameBytes } from '../common/path.js';
import type { StatInfo } from '../common/stat.js';
import { Description } from '../common/description.js';
import type { DirInode, FileInode, FileSystem, Inode } from './fs.js';

/** SEEK_DATA and SEEK_HOLE (Linux values; not in the ABI table). */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * The new offset of an lseek, or -EINVAL (bad whence, negative or unrepresentable result). A file
 * is all data (no holes): SEEK_DATA finds `offset` itself, SEEK_HOLE the end; both ENXIO at or past
 * the end, as Linux.
 */
function seekTarget(current: number, end: number, offset: number, whence: number): number {
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = current;
  else if (whence === SEEK_END) base = end;
  else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
    if (offset < 0) return -EINVAL;
    if (offset >= end) return -ENXIO;
    return whence === SEEK_DATA ? offset : end;
  } else return -EINVAL;
  const target = base + offset;
  return target < 0 || !Number.isSafeInteger(target) ? -EINVAL : target;
}

abstract class InodeDescription extends Description {
  constructor(
    protected readonly fs: FileSystem,
    readonly inode: Inode,
    accessMode: number,
    statusFlags: number,
  ) {
    super(accessMode, statusFlags);
    inode.openCount++;
  }

  override get positional(): boolean {
    return true;
  }

  /** Regular files and directories are always ready (poll never waits on them). */
  poll(): number {
    return POLLIN | POLLOUT;
  }

  override sync(): number {
    return 0;
  }

  stat(): StatInfo {
    return this.inode.stat();
  }

  override release(): void {
    this.fs.closed(this.inode);
    super.release();
  }
}

/** An open regular file: an offset into a FileInode. Never waits. */
export class FileDescription extends InodeDescription {
  position = 0;

  constructor(fs: FileSystem, readonly file: FileInode, accessMode: number, statusFlags: number) {
    super(fs, file, accessMode, statusFlags);
  }

  override read(sink: ByteSink): number {
    const n = this.pread(sink, this.position);
    this.position += n;
    return n;
  }

  override write(source: ByteSource, start: number): number {
    if ((this.statusFlags & O_APPEND) !== 0) this.position = this.file.size;
    const n = this.writeAt(source, start, this.position);
    this.position += n;
    return n;
  }

  override pread(sink: ByteSink, position: number): number {
    const bytes = this.file.read(position, sink.length);
    if (bytes.length > 0) sink.write(0, bytes);
    return bytes.length;
  }

  /** Like Linux, pwrite on an O_APPEND description appends, whatever the offset. */
  override pwrite(source: ByteSource, position: number): number {
    const at = (this.statusFlags & O_APPEND) !== 0 ? this.file.size : position;
    return this.writeAt(source, 0, at);
  }

  override seek(offset: number, whence: number): number {
    const target = seekTarget(this.position, this.file.size, offset, whence);
    if (target >= 0) this.position = target;
    return target;
  }

  override truncate(length: number): number {
    if (!this.writable) return -EINVAL;
    this.file.truncate(length);
    return 0;
  }

  private writeAt(source: ByteSource, start: number, position: number): number {
    const n = this.file.writable(position, source.length - start);
    if (n > 0) this.file.write(position, source.read(start, n));
    return n;
  }
}

/** An open directory: its position is a getdents64 cookie (see DirInode.list). */
export class DirDescription extends InodeDescription {
  position = 0;

  constructor(fs: FileSystem, readonly dir: DirInode, accessMode: number, statusFlags: number) {
    super(fs, dir, accessMode, statusFlags);
  }

  override read(): number {
    return -EISDIR;
  }

  override pread(): number {
    return -EISDIR;
  }

  /** Packs entries from the cookie on; d_off is the cookie after each entry. */
  override getdents(memory: GuestMemory, dirp: number, count: number): number {
    memory.check(dirp, count);
    const out = new DirentWriter(memory, dirp, count);
    for (const e of this.dir.list(this.position)) {
      if (!out.add(e.inode.ino, e.cookie + 1, e.inode.direntType, nameBytes(e.name))) {
        if (out.length === 0) return -EINVAL;
        break;
      }
      this.position = e.cookie + 1;
    }
    return out.length;
  }

  /** SEEK_SET and SEEK_CUR move among cookies (rewinddir, seekdir); SEEK_END has no meaning here. */
  override seek(offset: number, whence: number): number {
    if (whence !== SEEK_SET && whence !== SEEK_CUR) return -EINVAL;
    const target = seekTarget(this.position, 0, offset, whence);
    if (target >= 0) this.position = target;
    return target;
  }
}
