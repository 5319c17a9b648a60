import * as fs from 'node:fs';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  EROFS,
  EBADF,
  EBUSY,
  EEXIST,
  EINVAL,
  EISDIR,
  ELOOP,
  ENFILE,
  ENOENT,
  ENOTDIR,
  ENXIO,
  ENOTEMPTY,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_RDONLY,
  O_SYNC,
  O_TRUNC,
  PATH_MAX,
  STAT_SIZE,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { OPEN_STATUS_FLAGS } from '../common/io-calls.js';
import { parsePath, readGuestPath, type ParsedPath } from '../common/path.js';
import { writeStat } from '../common/stat.js';
import type { Call } from '../kernel.js';
import { errnoOf } from './errno.js';
import { OsFile } from './file-description.js';
import { dirComponents } from './file-io.js';
import { FileKind } from './file-table.js';
import {
  fsClose,
  fsFstat,
  fsFtruncate,
  fsLstat,
  fsMkdir,
  fsOpen,
  fsRename,
  fsRmdir,
  fsUnlink,
  type FsOp,
  type HostStats,
} from './fs-driver.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { at, Walk } from './beneath.js';
import {
  guestPathBytes,
  normalize,
  type GrantPlace,
  type Place,
  type Sandbox,
} from './sandbox.js';
import { hostStat } from './stat-info.js';

/** Guest open flags (Linux values) as the host's fs.constants, by name (the host may not be Linux). */
function hostOpenFlags(flags: number): number {
  const h = fs.constants;
  let out = [h.O_RDONLY, h.O_WRONLY, h.O_RDWR, h.O_RDWR][flags & O_ACCMODE]!;
  if ((flags & O_CREAT) !== 0) out |= h.O_CREAT;
  if ((flags & O_EXCL) !== 0) out |= h.O_EXCL;
  if ((flags & O_TRUNC) !== 0) out |= h.O_TRUNC;
  if ((flags & O_APPEND) !== 0) out |= h.O_APPEND;
  if ((flags & O_DIRECTORY) !== 0) out |= h.O_DIRECTORY;
  if ((flags & O_NOCTTY) !== 0) out |= h.O_NOCTTY;
  if ((flags & O_SYNC) === O_SYNC) out |= h.O_SYNC;
  else if ((flags & O_DSYNC) !== 0) out |= h.O_DSYNC;
  // Always: the final name is a checked real path, so a symlink there now is a race (refused), and a
  // FIFO must not block the open (special files are refused after it, see openOp).
  return out | h.O_NOFOLLOW | h.O_NONBLOCK;
}

/**
 * The directory a relative path starts from: "/" for AT_FDCWD or an absolute path (which ignores
 * dirfd, even an invalid one, as Linux does), else the directory behind dirfd, of any thread. Node
 * has no openat(), so a directory descriptor remembers the guest path it was opened by (in the shared
 * file table) and relative paths are resolved, and sandbox-checked, from that path: a directory
 * renamed while open is still found under its old name, unlike Linux.
 */
export function baseDir(k: OsKernel, p: OsProcess, c: Call, dirfd: number, path: ParsedPath): string[] {
  if (path.absolute || dirfd === AT_FDCWD) return [];
  const d = k.descriptor(p, c, dirfd);
  try {
    if (!(d instanceof OsFile) || p.files.kind(d.slot) === FileKind.File) throw new SysError(ENOTDIR);
    return dirComponents(p.files, d.slot);
  } finally {
    k.endCall(d);
  }
}

/** The last name of a path as written, before normalisation ("." and ".." matter to rmdir and rename). */
export function lastName(path: ParsedPath): string | undefined {
  return path.components[path.components.length - 1];
}

/** A place where something is created: a name outside every grant is EACCES below a synthetic directory, else ENOENT. */
export function creationPlace(sb: Sandbox, components: readonly string[]): Place {
  const place = sb.place(components);
  if (place !== null) return place;
  const parent = components.length > 0 ? sb.place(components.slice(0, -1)) : null;
  throw new SysError(parent?.kind === 'synthetic' ? EACCES : ENOENT);
}

/**
 * Refuses a change to an existing name below a read-only grant with EROFS (a missing one is ENOENT:
 * Linux looks the path up before it looks at the mount).
 */
export function* refuseReadOnly(place: GrantPlace, w: Walk, name: string): FsOp<void> {
  if (!place.grant.readOnly) return;
  yield* fsLstat(at(w.dir, name));
  throw new SysError(EROFS);
}

/** A grant place with a name of its own (not a grant root, not above the grants), or `errno`. */
export function namedPlace(place: Place, errno: number): GrantPlace {
  if (place.kind === 'synthetic' || place.rest.length === 0) throw new SysError(errno);
  return place;
}

/**
 * Runs `body` with a walk beneath `place`'s grant standing in the directory of its last name (which
 * it must have), and releases the walk however `body` ends.
 */
export function* inParent<T>(place: GrantPlace, body: (w: Walk, name: string) => FsOp<T>): FsOp<T> {
  const w = new Walk(place.grant);
  try {
    const name = yield* w.parent(place.rest);
    // A guest path's last name is never "." or ".." (normalised), so the walk ends at a name.
    if (name === null) throw new SysError(EBUSY);
    return yield* body(w, name);
  } finally {
    w.release();
  }
}

// ---------------------------------------------------------------- openat

interface Opened {
  readonly hostFd: number;
  readonly kind: FileKind;
}

/**
 * Opens beneath the grant: the final name is opened with O_NOFOLLOW in the directory the walk holds
 * (a symlink there is followed by the walk, beneath the grant, and the open tried again at its
 * target), so nothing outside the grant is ever opened, created or truncated.
 */
function* openOp(sb: Sandbox, components: readonly string[], flags: number, mode: number, trailingSlash: boolean, strictLinks: boolean): FsOp<Opened> {
  const creating = (flags & O_CREAT) !== 0;
  const place = creating ? creationPlace(sb, components) : sb.require(components);
  if (place.kind === 'synthetic') {
    if ((flags & O_ACCMODE) !== O_RDONLY || (flags & (O_TRUNC | O_CREAT)) !== 0) throw new SysError(EISDIR);
    return { hostFd: -1, kind: FileKind.SyntheticDir };
  }
  const w = new Walk(place.grant);
  try {
    let name = yield* w.parent(place.rest);
    let hostFlags = hostOpenFlags(flags);
    const writes = (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
    if (place.grant.readOnly && (writes || creating)) {
      // A read-only mount: no new file, no write access, no truncation (a directory answers EISDIR below).
      const f = yield* w.final(name);
      if (f.st === null ? creating : writes && !f.st.isDirectory()) throw new SysError(EROFS);
      if (f.st === null) throw new SysError(ENOENT);
      name = f.name;
      hostFlags &= ~fs.constants.O_CREAT;
    } else if (trailingSlash && creating && name !== null && (yield* w.final(name)).st === null) {
      throw new SysError(EISDIR);
    }
    // --strict-links: the link count is looked at on the opened file itself, so the truncation
    // waits until then (a file truncated by the open could not be given back).
    const truncate = strictLinks && writes && (hostFlags & fs.constants.O_TRUNC) !== 0;
    if (truncate) hostFlags &= ~fs.constants.O_TRUNC;
    let fd: number;
    for (;;) {
      if (name === null) {
        // The walk ends at a directory (a grant root, or a symlink to one): its descriptor names it.
        fd = yield* fsOpen(at(w.dir), hostFlags & ~fs.constants.O_NOFOLLOW, mode & 0o7777);
        break;
      }
      try {
        fd = yield* fsOpen(at(w.dir, name), hostFlags, mode & 0o7777);
        break;
      } catch (e) {
        const errno = errnoOf(e);
        // ENXIO: the non-blocking open of a FIFO for writing found no reader (or a device or socket
        // is behind the name): not a regular file, refused as after the open, whatever the mode.
        if (errno === ENXIO) throw new SysError(EACCES, 'not a regular file');
        // ELOOP (ENOTDIR with O_DIRECTORY): the final name may be a symlink. Followed beneath the
        // grant unless the guest said O_NOFOLLOW (through() answers ENOTDIR if it is not one).
        if ((errno !== ELOOP && errno !== ENOTDIR) || (flags & O_NOFOLLOW) !== 0) throw e;
        name = yield* w.through(name);
      }
    }
    try {
      const st = yield* fsFstat(fd);
      if (st.isDirectory() && truncate) throw new SysError(EISDIR); // as the open with O_TRUNC would say
      if (st.isDirectory()) return { hostFd: fd, kind: FileKind.Dir };
      if (trailingSlash) throw new SysError(ENOTDIR);
      // Only regular files and directories: a device or FIFO could block a threadpool thread forever.
      if (!st.isFile()) throw new SysError(EACCES, 'not a regular file');
      if (strictLinks && writes && Number(st.nlink) > 1) throw new SysError(EACCES, 'a file with more than one link (--strict-links)');
      if (truncate) yield* fsFtruncate(fd, 0);
      return { hostFd: fd, kind: FileKind.File };
    } catch (e) {
      yield* fsClose(fd);
      throw e;
    }
  } finally {
    w.release();
  }
}

export function sysOpenat(k: OsKernel, p: OsProcess, c: Call): number {
  const [dirfd, flags, mode] = [c.a0, c.a2, c.a3 >>> 0];
  const path = readGuestPath(p.memory, c.a1);
  if ((flags & O_CREAT) !== 0 && (flags & O_DIRECTORY) !== 0) return -EINVAL;
  const components = normalize(baseDir(k, p, c, dirfd, path), path);
  // Linux reserves the descriptor first: a full table fails before the file is created.
  p.reserve();
  return k.runFs(
    p,
    c,
    openOp(p.sandbox, components, flags, mode, path.trailingSlash, k.strictLinks),
    (opened) => {
      if (!p.alive) {
        k.closeHost(opened.hostFd);
        return -EBADF;
      }
      const handle = new OsFile(k, p, -1, flags & O_ACCMODE);
      let fd: number;
      try {
        fd = p.install(c.thread, handle, false);
      } catch (e) {
        k.closeHost(opened.hostFd);
        p.unreserve();
        throw e;
      }
      const guestFlags = flags & (O_ACCMODE | OPEN_STATUS_FLAGS | O_CLOEXEC);
      const dirPath = opened.kind === FileKind.File ? null : guestPathBytes(components);
      const hostAppend = (flags & O_APPEND) !== 0;
      const slot = p.files.insert(fd, opened.hostFd, opened.kind, guestFlags, p.classOf(c.thread), dirPath, hostAppend);
      if (slot < 0) {
        p.fds.remove(fd);
        k.closeHost(opened.hostFd);
        p.unreserve();
        return -ENFILE;
      }
      handle.slot = slot;
      return fd;
    },
    () => p.unreserve(),
  );
}

// ---------------------------------------------------------------- mkdir, unlink, rename

export function sysMkdirat(k: OsKernel, p: OsProcess, c: Call): number {
  const path = readGuestPath(p.memory, c.a1);
  const components = normalize(baseDir(k, p, c, c.a0, path), path);
  const mode = c.a2 & 0o7777;
  function* op(): FsOp<number> {
    const place = namedPlace(creationPlace(p.sandbox, components), EEXIST);
    return yield* inParent(place, function* (w, name) {
      if (place.grant.readOnly) {
        let exists = true;
        try {
          yield* fsLstat(at(w.dir, name));
        } catch {
          exists = false;
        }
        throw new SysError(exists ? EEXIST : EROFS);
      }
      yield* fsMkdir(at(w.dir, name), mode);
      return 0;
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}

export function sysUnlinkat(k: OsKernel, p: OsProcess, c: Call): number {
  const flags = c.a2;
  if ((flags & ~AT_REMOVEDIR) !== 0) return -EINVAL;
  const removeDir = (flags & AT_REMOVEDIR) !== 0;
  const path = readGuestPath(p.memory, c.a1);
  const last = lastName(path);
  if (removeDir && last === '.') return -EINVAL;
  if (removeDir && last === '..') return -ENOTEMPTY;
  if (!removeDir && (last === '.' || last === '..')) return -EISDIR;
  const components = normalize(baseDir(k, p, c, c.a0, path), path);
  function* op(): FsOp<number> {
    const place = namedPlace(p.sandbox.require(components), removeDir ? EBUSY : EISDIR);
    return yield* inParent(place, function* (w, name) {
      yield* refuseReadOnly(place, w, name);
      const target = at(w.dir, name);
      if (removeDir) yield* fsRmdir(target);
      else {
        if (path.trailingSlash) throw new SysError((yield* fsLstat(target)).isDirectory() ? EISDIR : ENOTDIR);
        yield* fsUnlink(target);
      }
      return 0;
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}

export function sysRenameat(k: OsKernel, p: OsProcess, c: Call): number {
  const oldPath = readGuestPath(p.memory, c.a1);
  const newPath = readGuestPath(p.memory, c.a3);
  for (const n of [lastName(oldPath), lastName(newPath)]) if (n === '.' || n === '..') return -EBUSY;
  const from = normalize(baseDir(k, p, c, c.a0, oldPath), oldPath);
  const to = normalize(baseDir(k, p, c, c.a2, newPath), newPath);
  function* op(): FsOp<number> {
    const src = namedPlace(p.sandbox.require(from), EBUSY);
    const dst = namedPlace(creationPlace(p.sandbox, to), EBUSY);
    return yield* inParent(src, (a, aName) =>
      inParent(dst, function* (b, bName) {
        const source = at(a.dir, aName);
        yield* refuseReadOnly(src, a, aName);
        yield* refuseReadOnly(dst, a, aName);
        if ((oldPath.trailingSlash || newPath.trailingSlash) && !(yield* fsLstat(source)).isDirectory()) throw new SysError(ENOTDIR);
        yield* fsRename(source, at(b.dir, bName));
        return 0;
      }),
    );
  }
  return k.runFs(p, c, op(), (r) => r);
}

// ---------------------------------------------------------------- stat

export function sysNewfstatat(k: OsKernel, p: OsProcess, c: Call): number {
  const [dirfd, pathPtr, statPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -EINVAL;
  const bytes = p.memory.cstringBytes(pathPtr, PATH_MAX - 1);
  p.memory.check(statPtr, STAT_SIZE);
  if (bytes.length === 0) {
    if ((flags & AT_EMPTY_PATH) === 0) return -ENOENT;
    if (dirfd !== AT_FDCWD) return k.fstat(p, c, dirfd, statPtr);
  }
  const path = bytes.length === 0 ? parsePath(new Uint8Array([0x2f])) : parsePath(bytes);
  const components = normalize(baseDir(k, p, c, dirfd, path), path);
  const follow = (flags & AT_SYMLINK_NOFOLLOW) === 0;
  function* op(): FsOp<number> {
    const place = p.sandbox.require(components);
    if (place.kind === 'synthetic') {
      writeStat(p.memory, statPtr, p.sandbox.syntheticStat(components));
      return 0;
    }
    const w = new Walk(place.grant);
    try {
      const name = yield* w.parent(place.rest);
      let st: HostStats;
      if (follow) {
        const f = yield* w.final(name);
        if (f.st === null) throw new SysError(ENOENT);
        st = f.st;
      } else st = name === null ? yield* fsFstat(w.dir) : yield* fsLstat(at(w.dir, name));
      if (path.trailingSlash && !st.isDirectory()) throw new SysError(ENOTDIR);
      if (p.alive) writeStat(p.memory, statPtr, hostStat(st));
      return 0;
    } finally {
      w.release();
    }
  }
  return k.runFs(p, c, op(), (r) => r);
}

