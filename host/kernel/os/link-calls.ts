// symlinkat, readlinkat, linkat and utimensat on the os kernel (kept apart from file-calls.ts: the
// calls added for WASI's path_symlink, path_readlink, path_link and filestat_set_times). Every
// name is reached beneath its grant by the same walk as the other file calls, so a symlink's
// target is stored as given but never followed out of the grant, a hard link is only made between
// names of one grant (EXDEV otherwise, as across mounts), and a read-only grant answers EROFS.
import { EBADF, AT_EMPTY_PATH, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, EACCES, EEXIST, EINVAL, ENOENT, EROFS, EXDEV, PATH_MAX, TIMESPEC_SIZE, UTIME_NOW, UTIME_OMIT } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { readGuestPath } from '../common/path.js';
import { NSEC_PER_SEC } from '../common/time.js';
import type { Call } from '../kernel.js';
import { at } from './beneath.js';
import { errnoOf } from './errno.js';
import { baseDir, creationPlace, inParent, namedPlace } from './file-calls.js';
import { OsFile } from './file-description.js';
import { FileKind } from './file-table.js';
import { fsFstat, fsFutimes, fsLink, fsLstat, fsReadlink, fsSymlink, fsUtimes, type FsOp, type HostStats } from './fs-driver.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { normalize, type GrantPlace } from './sandbox.js';

/** A name about to be created below a read-only grant: EEXIST when it is taken, else EROFS (Linux's order). */
function* refuseCreation(place: GrantPlace, dir: number, name: string): FsOp<void> {
  if (!place.grant.readOnly) return;
  try {
    yield* fsLstat(at(dir, name));
  } catch (e) {
    if (errnoOf(e) === ENOENT) throw new SysError(EROFS);
    throw e;
  }
  throw new SysError(EEXIST);
}

export function sysSymlinkat(k: OsKernel, p: OsProcess, c: Call): number {
  const target = Buffer.from(p.memory.cstringBytes(c.a0, PATH_MAX - 1));
  if (target.length === 0) return -ENOENT;
  const path = readGuestPath(p.memory, c.a2);
  const components = normalize(baseDir(k, p, c, c.a1, path), path);
  function* op(): FsOp<number> {
    const place = namedPlace(creationPlace(p.sandbox, components), EEXIST);
    return yield* inParent(place, function* (w, name) {
      yield* refuseCreation(place, w.dir, name);
      yield* fsSymlink(target, at(w.dir, name));
      return 0;
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}

export function sysReadlinkat(k: OsKernel, p: OsProcess, c: Call): number {
  const size = c.a3 | 0;
  if (size <= 0) return -EINVAL;
  const path = readGuestPath(p.memory, c.a1);
  const components = normalize(baseDir(k, p, c, c.a0, path), path);
  p.memory.check(c.a2, size);
  function* op(): FsOp<number> {
    const place = namedPlace(p.sandbox.require(components), EINVAL);
    return yield* inParent(place, function* (w, name) {
      const target = yield* fsReadlink(at(w.dir, name));
      const n = Math.min(target.length, size);
      if (p.alive) p.memory.write(c.a2, target.subarray(0, n));
      return n;
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}

export function sysLinkat(k: OsKernel, p: OsProcess, c: Call): number {
  const flags = c.a4;
  if ((flags & ~AT_SYMLINK_FOLLOW) !== 0) return -EINVAL;
  const oldPath = readGuestPath(p.memory, c.a1);
  const newPath = readGuestPath(p.memory, c.a3);
  const from = normalize(baseDir(k, p, c, c.a0, oldPath), oldPath);
  const to = normalize(baseDir(k, p, c, c.a2, newPath), newPath);
  function* op(): FsOp<number> {
    const src = namedPlace(p.sandbox.require(from), EACCES);
    const dst = namedPlace(creationPlace(p.sandbox, to), EEXIST);
    return yield* inParent(src, function* (a, aName) {
      let source = aName;
      if ((flags & AT_SYMLINK_FOLLOW) !== 0) {
        // Followed beneath the grant, like any other lookup: the link is made to where it leads.
        const f = yield* a.final(aName);
        if (f.st === null) throw new SysError(ENOENT);
        if (f.name === null) throw new SysError(EACCES); // a directory (the walk's own): Linux says EPERM for dirs below
        source = f.name;
      }
      const sourcePath = at(a.dir, source);
      return yield* inParent(dst, function* (b, bName) {
        yield* refuseCreation(dst, b.dir, bName);
        // Linux looks at the target's mount being writable first, then at the two mounts differing.
        if (src.grant !== dst.grant) throw new SysError(EXDEV);
        yield* fsLink(sourcePath, at(b.dir, bName));
        return 0;
      });
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}

/** A new time in seconds (Node's unit) from a timespec, UTIME_NOW or UTIME_OMIT (the current one). */
function seconds(p: OsProcess, ptr: number, current: bigint): number {
  const sec = p.memory.i64(ptr);
  const nsec = p.memory.i64(ptr + 8);
  if (nsec === UTIME_OMIT) return Number(current) / 1e9;
  if (nsec === UTIME_NOW) return Date.now() / 1000;
  if (nsec < 0 || nsec >= NSEC_PER_SEC) throw new SysError(EINVAL, 'bad timespec');
  return sec + nsec / 1e9;
}

function newTimes(p: OsProcess, timesPtr: number, st: HostStats): [number, number] {
  if (timesPtr === 0) {
    const now = Date.now() / 1000;
    return [now, now];
  }
  return [seconds(p, timesPtr, st.atimeNs), seconds(p, timesPtr + TIMESPEC_SIZE, st.mtimeNs)];
}

export function sysUtimensat(k: OsKernel, p: OsProcess, c: Call): number {
  const [dirfd, pathPtr, timesPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -EINVAL;
  if (timesPtr !== 0) p.memory.check(timesPtr, 2 * TIMESPEC_SIZE);
  if (pathPtr === 0) {
    // The descriptor itself: only a file or directory has times to set here.
    const d = k.descriptor(p, c, dirfd);
    if (!(d instanceof OsFile)) {
      k.endCall(d);
      return -EINVAL;
    }
    const [t, s] = [p.files, d.slot];
    function* op(): FsOp<number> {
      if (t.kind(s) === FileKind.SyntheticDir) throw new SysError(EACCES);
      const fd = t.hostFd(s);
      // Which grant the open file lies in: its /proc link names its real path.
      const grant = p.sandbox.grantHolding(yield* fsReadlink(at(fd)));
      if (grant === null) throw new SysError(EACCES);
      if (grant.readOnly) throw new SysError(EROFS);
      const [a, m] = newTimes(p, timesPtr, yield* fsFstat(fd));
      yield* fsFutimes(fd, a, m);
      return 0;
    }
    return k.runFs(p, c, op(), (r) => r, undefined, d);
  }
  const path = readGuestPath(p.memory, pathPtr);
  const components = normalize(baseDir(k, p, c, dirfd, path), path);
  const follow = (flags & AT_SYMLINK_NOFOLLOW) === 0;
  function* op(): FsOp<number> {
    const place = namedPlace(p.sandbox.require(components), EACCES);
    return yield* inParent(place, function* (w, name) {
      let target: string | null = name;
      if (follow) {
        const f = yield* w.final(name);
        if (f.st === null) throw new SysError(ENOENT);
        target = f.name;
      }
      const hostPath = at(w.dir, target);
      const st = target === null ? yield* fsFstat(w.dir) : yield* fsLstat(hostPath);
      if (place.grant.readOnly) throw new SysError(EROFS);
      const [a, m] = newTimes(p, timesPtr, st);
      // Beneath the grant: a final name is never a symlink the host follows (lutimes); the walk's
      // own directory is reached through its descriptor's /proc link, which is followed.
      yield* fsUtimes(hostPath, a, m, target === null);
      return 0;
    });
  }
  return k.runFs(p, c, op(), (r) => r);
}
