import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  EEXIST,
  EINVAL,
  EISDIR,
  EMFILE,
  ENOENT,
  ENOTDIR,
  EROFS,
  EACCES,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  ELOOP,
  O_RDONLY,
  O_TRUNC,
  PATH_MAX,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { MAX_RW_COUNT } from '../common/iovec.js';
import { nameBytes, parsePath, readGuestPath, type ParsedPath } from '../common/path.js';
import { writeStat } from '../common/stat.js';
import type { Call } from '../kernel.js';
import type { Description } from '../common/description.js';
import { OPEN_STATUS_FLAGS } from '../common/io-calls.js';
import { DirDescription, FileDescription } from './file.js';
import { DirInode, FileInode, SymlinkInode, type Inode } from './fs.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** Where a relative path starts: the directory behind `dirfd`, or the working directory ("/"). */
export function startDir(k: VirtualKernel, p: VirtualProcess, dirfd: number, path: ParsedPath): DirInode {
  if (path.absolute || dirfd === AT_FDCWD) return k.fs.root;
  const d = p.fds.lookup(dirfd);
  if (!(d instanceof DirDescription)) throw new SysError(ENOTDIR);
  return d.dir;
}

export function sysOpenat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [dirfd, flags, mode] = [c.a0, c.a2, c.a3];
  const path = readGuestPath(p.memory, c.a1);
  const start = startDir(k, p, dirfd, path);
  // Linux reserves the descriptor first: a full table fails before the file is created.
  if (!p.fds.hasRoom()) return -EMFILE;
  let inode: Inode;
  if ((flags & O_CREAT) !== 0) {
    if ((flags & O_DIRECTORY) !== 0) return -EINVAL;
    const ref = k.fs.resolveParent(start, path);
    let existing = k.fs.lookup(ref);
    if (existing === undefined) {
      inode = k.fs.createFile(ref, mode);
    } else {
      if ((flags & O_EXCL) !== 0) return -EEXIST;
      // An existing symlink is followed (its target must exist here), unless O_NOFOLLOW.
      if (existing instanceof SymlinkInode) {
        if ((flags & O_NOFOLLOW) !== 0) return -ELOOP;
        existing = k.fs.resolve(start, path);
      }
      if (existing instanceof DirInode || ref.trailingSlash) return -EISDIR;
      inode = existing;
    }
  } else {
    inode = k.fs.resolve(start, path, (flags & O_NOFOLLOW) === 0);
    if (inode instanceof SymlinkInode) return -ELOOP; // O_NOFOLLOW met a symlink
    if ((flags & O_DIRECTORY) !== 0 && !(inode instanceof DirInode)) return -ENOTDIR;
  }
  const access = flags & O_ACCMODE;
  let d: Description;
  if (inode instanceof DirInode) {
    // O_TRUNC asks for write access too (Linux's acc_mode).
    if (access !== O_RDONLY || (flags & O_TRUNC) !== 0) return -EISDIR;
    d = new DirDescription(k.fs, inode, access, flags & OPEN_STATUS_FLAGS);
  } else {
    const file = inode as FileInode;
    const writes = access !== O_RDONLY || (flags & O_TRUNC) !== 0;
    if (file.readOnly && writes) return -EROFS;
    // --strict-links: another name may lie outside the guest's grants (docs/security.md).
    if (k.strictLinks && writes && file.nlink > 1) return -EACCES;
    if ((flags & O_TRUNC) !== 0) file.truncate(0);
    d = new FileDescription(k.fs, file, access, flags & OPEN_STATUS_FLAGS);
  }
  return p.open(c.thread, d, (flags & O_CLOEXEC) !== 0);
}

export function sysMkdirat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const path = readGuestPath(p.memory, c.a1);
  k.fs.mkdir(k.fs.resolveParent(startDir(k, p, c.a0, path), path), c.a2);
  return 0;
}

export function sysNewfstatat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [dirfd, pathPtr, statPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -EINVAL;
  const bytes = p.memory.cstringBytes(pathPtr, PATH_MAX - 1);
  if (bytes.length === 0) {
    if ((flags & AT_EMPTY_PATH) === 0) return -ENOENT;
    const st = dirfd === AT_FDCWD ? k.fs.root.stat() : p.fds.lookup(dirfd).stat();
    writeStat(p.memory, statPtr, st);
    return 0;
  }
  const path = parsePath(bytes);
  writeStat(p.memory, statPtr, k.fs.resolve(startDir(k, p, dirfd, path), path, (flags & AT_SYMLINK_NOFOLLOW) === 0).stat());
  return 0;
}

export function sysUnlinkat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const flags = c.a2;
  if ((flags & ~AT_REMOVEDIR) !== 0) return -EINVAL;
  const path = readGuestPath(p.memory, c.a1);
  k.fs.remove(k.fs.resolveParent(startDir(k, p, c.a0, path), path), (flags & AT_REMOVEDIR) !== 0);
  return 0;
}

export function sysRenameat(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const oldPath = readGuestPath(p.memory, c.a1);
  const newPath = readGuestPath(p.memory, c.a3);
  const from = k.fs.resolveParent(startDir(k, p, c.a0, oldPath), oldPath);
  const to = k.fs.resolveParent(startDir(k, p, c.a2, newPath), newPath);
  k.fs.rename(from, to);
  return 0;
}

/** getdents64 (a directory's own operation). */
export function sysGetdents64(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return p.fds.lookup(c.a0).getdents(p.memory, c.a1, Math.min(c.a2 >>> 0, MAX_RW_COUNT));
}
