// symlinkat, readlinkat, linkat and utimensat on the virtual kernel's tree (kept apart from
// fs-calls.ts: the calls added for WASI's path_symlink, path_readlink, path_link and the
// filestat_set_times functions).
import { AT_EMPTY_PATH, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, EINVAL, EROFS, PATH_MAX, UTIME_NOW, UTIME_OMIT, TIMESPEC_SIZE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { MAX_RW_COUNT } from '../common/iovec.js';
import { readGuestPath } from '../common/path.js';
import { NSEC_PER_SEC, type Timespec } from '../common/time.js';
import type { Call } from '../kernel.js';
import { startDir } from './fs-calls.js';
import { SymlinkInode, type Inode } from './fs.js';
import { DirDescription, FileDescription } from './file.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** symlinkat(target, newdirfd, linkpath): the target is stored as given, never looked at. */
export function sysSymlinkat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const target = p.memory.cstringBytes(c.a0, PATH_MAX - 1);
  const path = readGuestPath(p.memory, c.a2);
  k.fs.symlink(k.fs.resolveParent(startDir(k, p, c.a1, path), path), target.slice());
  return 0;
}

/** readlinkat: the target's bytes, not NUL-terminated, cut to bufsiz; EINVAL when not a symlink. */
export function sysReadlinkat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const size = c.a3 | 0;
  if (size <= 0) return -EINVAL;
  const path = readGuestPath(p.memory, c.a1);
  const inode = k.fs.resolve(startDir(k, p, c.a0, path), path, false);
  if (!(inode instanceof SymlinkInode)) return -EINVAL;
  const n = Math.min(inode.target.length, size, MAX_RW_COUNT);
  p.memory.check(c.a2, n);
  p.memory.write(c.a2, inode.target.subarray(0, n));
  return n;
}

/** linkat: a new name for an existing file (the last component followed only with AT_SYMLINK_FOLLOW). */
export function sysLinkat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const flags = c.a4;
  if ((flags & ~AT_SYMLINK_FOLLOW) !== 0) return -EINVAL;
  const oldPath = readGuestPath(p.memory, c.a1);
  const newPath = readGuestPath(p.memory, c.a3);
  const inode = k.fs.resolve(startDir(k, p, c.a0, oldPath), oldPath, (flags & AT_SYMLINK_FOLLOW) !== 0);
  k.fs.hardLink(inode, k.fs.resolveParent(startDir(k, p, c.a2, newPath), newPath));
  return 0;
}

/** One of utimensat's two times: UTIME_NOW, UTIME_OMIT (null) or a timespec Linux accepts. */
function newTime(k: VirtualKernel, p: VirtualProcess, ptr: number): Timespec | null {
  const sec = p.memory.i64(ptr);
  const nsec = p.memory.i64(ptr + 8);
  if (nsec === UTIME_OMIT) return null;
  if (nsec === UTIME_NOW) return k.fs.now();
  if (nsec < 0 || nsec >= NSEC_PER_SEC) throw new SysError(EINVAL, 'bad timespec');
  return { sec, nsec };
}

/** utimensat: sets access and modification times (path 0: the descriptor itself; times 0: now). */
export function sysUtimensat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [dirfd, pathPtr, timesPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -EINVAL;
  let atime: Timespec | null;
  let mtime: Timespec | null;
  if (timesPtr === 0) atime = mtime = k.fs.now();
  else {
    p.memory.check(timesPtr, 2 * TIMESPEC_SIZE);
    atime = newTime(k, p, timesPtr);
    mtime = newTime(k, p, timesPtr + TIMESPEC_SIZE);
  }
  let inode: Inode;
  if (pathPtr === 0) {
    const d = p.fds.lookup(dirfd);
    if (d instanceof FileDescription) inode = d.file;
    else if (d instanceof DirDescription) inode = d.dir;
    else throw new SysError(EINVAL, 'not a file');
  } else {
    const path = readGuestPath(p.memory, pathPtr);
    inode = k.fs.resolve(startDir(k, p, dirfd, path), path, (flags & AT_SYMLINK_NOFOLLOW) === 0);
  }
  if (atime === null && mtime === null) return 0;
  if (inode.readOnly) return -EROFS;
  if (atime) inode.atime = atime;
  if (mtime) inode.mtime = mtime;
  inode.ctime = k.fs.now();
  return 0;
}
