import * as fs from 'node:fs';
import { EACCES, EINVAL, ELOOP, ENOENT, ENOTDIR } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { errnoOf } from './errno.js';
import { fsFstat, fsLstat, fsOpen, fsReadlink, type FsOp, type HostStats } from './fs-driver.js';

/**
 * Path resolution beneath a grant's root, by descriptors (what openat2's RESOLVE_BENEATH does in the
 * kernel, done here one component at a time because Node has no openat).
 *
 * Every grant root is held open (O_PATH) for as long as the guest lives. A path below it is walked
 * one name at a time: each directory on the way is opened with O_PATH | O_NOFOLLOW | O_DIRECTORY
 * *relative to the descriptor of the directory before it*, by naming it as
 * "/proc/self/fd/<dirfd>/<name>": Linux resolves "/proc/self/fd/<dirfd>" to the open directory
 * itself (not to a path that a rename could redirect) and then looks up the one name in it, without
 * following a final symlink. The operation itself (open, mkdir, unlink, rename, lstat, readdir) then
 * names its target the same way, through the descriptor of its parent.
 *
 * Why this closes the race by construction: no check is ever separated from its use. A directory
 * descriptor stays the directory it was opened as, wherever a concurrent rename moves it, and a name
 * is looked up in it exactly once, by the call that uses it. A symlink met on the way is never
 * followed by the host kernel: its target is read and walked the same way, from the descriptor of
 * the symlink's own directory, ".." popping the descriptor stack (never above the root: EACCES) and
 * an absolute target restarting at the root when it lies inside the grant's host path (else EACCES).
 * So what a guest can do to its own grant (rename directories away, move symlinks onto their names,
 * on as many threads as it likes) changes only which name inside the grant a call reaches.
 *
 * What it needs: Linux with /proc mounted (checked when a grant is made; a grant is refused without).
 */

/** Linux's O_PATH (fs.constants does not export it): a descriptor that names a file without opening it for I/O. */
const O_PATH = 0o10000000;
/** How a directory on the way is opened. */
const STEP_FLAGS = O_PATH | fs.constants.O_NOFOLLOW | fs.constants.O_DIRECTORY;
/** Symlinks followed in one resolution before ELOOP (Linux's limit). */
const MAX_SYMLINKS = 40;

/** The host name of `name` in the directory open as `dirFd`, or of that directory itself. */
export function at(dirFd: number, name: string | null = null): Buffer {
  const dir = `/proc/self/fd/${dirFd}`;
  return name === null ? Buffer.from(dir) : Buffer.concat([Buffer.from(dir + '/'), Buffer.from(name, 'latin1')]);
}

/** Opens a grant root (at construction of the sandbox). Throws when the host cannot confine paths. */
export function openRoot(host: Buffer): number {
  if (process.platform !== 'linux') throw new Error('confining paths needs Linux (/proc/self/fd)');
  const fd = fs.openSync(host, O_PATH | fs.constants.O_DIRECTORY);
  try {
    if (!fs.statSync(at(fd)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    fs.closeSync(fd);
    throw new Error(`confining paths needs /proc/self/fd: ${(e as Error).message}`);
  }
  return fd;
}

/** What a walk needs of its grant: the root's descriptor and real host path, and a hold on both. */
export interface WalkRoot {
  readonly fd: number;
  /** The root's real host path: an absolute symlink target inside it is followed from the root. */
  readonly host: Buffer;
  /** Counts a walk in progress (the root descriptor stays open until the last one ends). */
  enter(): void;
  leave(): void;
}

/** The final name of a walk, followed to something that is not a symlink. */
export interface Final {
  /** Its name in the walk's current directory, or null: that directory itself. */
  readonly name: string | null;
  /** Its lstat, or null when it does not exist. */
  readonly st: HostStats | null;
}

/** Splits a symlink's target into names (latin1 byte strings). */
function targetNames(target: Buffer): string[] {
  return target
    .toString('latin1')
    .split('/')
    .filter((n) => n.length > 0);
}

/**
 * One resolution beneath a root: the directories it holds open, the symlinks it followed. Always
 * release() it (in a finally): it closes what it opened and lets the root go.
 */
export class Walk {
  private readonly held: number[] = [];
  private links = 0;
  private released = false;

  constructor(private readonly root: WalkRoot) {
    root.enter();
  }

  /** The directory the walk stands in. */
  get dir(): number {
    return this.held.length > 0 ? this.held[this.held.length - 1]! : this.root.fd;
  }

  /**
   * Walks `names` but the last through directories (following symlinks on the way, beneath the
   * root) and returns the last name, to be looked up in `dir` by the call that uses it; null when
   * the names end at a directory (none at all: the root; or a symlink target ending in "..").
   */
  *parent(names: readonly string[]): FsOp<string | null> {
    const queue = names.slice();
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (name === '.' || name === '') {
        if (queue.length === 0) return null;
        continue;
      }
      if (name === '..') {
        if (this.held.length === 0) throw new SysError(EACCES, 'path leads out of its grant');
        fs.closeSync(this.held.pop()!);
        if (queue.length === 0) return null;
        continue;
      }
      if (queue.length === 0) return name;
      let fd: number;
      try {
        fd = yield* fsOpen(at(this.dir, name), STEP_FLAGS, 0);
      } catch (e) {
        const errno = errnoOf(e);
        if (errno !== ENOTDIR && errno !== ELOOP) throw e;
        // Not a directory: a symlink to follow, or ENOTDIR.
        queue.unshift(...(yield* this.readLink(name)));
        continue;
      }
      this.held.push(fd);
    }
    return null;
  }

  /**
   * The final `name` (in `dir`) followed through symlinks, beneath the root: its name and lstat.
   * A symlink swapped in after this looked is refused by the call using it (O_NOFOLLOW, or lstat).
   */
  *final(name: string | null): FsOp<Final> {
    for (;;) {
      if (name === null) return { name, st: yield* fsFstat(this.dir) };
      let st: HostStats;
      try {
        st = yield* fsLstat(at(this.dir, name));
      } catch (e) {
        if (errnoOf(e) !== ENOENT) throw e;
        return { name, st: null };
      }
      if (!st.isSymbolicLink()) return { name, st };
      name = yield* this.through(name);
    }
  }

  /** The final `name` is a symlink: walks to its target's directory and returns the target's last name. */
  *through(name: string): FsOp<string | null> {
    return yield* this.parent(yield* this.readLink(name));
  }

  /**
   * Enters the directory `name` (in `dir`), following symlinks: the walk then stands in it. ENOTDIR
   * when it is something else.
   */
  *enter(name: string | null): FsOp<void> {
    while (name !== null) {
      try {
        this.held.push(yield* fsOpen(at(this.dir, name), STEP_FLAGS, 0));
        return;
      } catch (e) {
        const errno = errnoOf(e);
        if (errno !== ENOTDIR && errno !== ELOOP) throw e;
        name = yield* this.parent(yield* this.readLink(name));
      }
    }
  }

  /** Closes what the walk opened (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const fd of this.held.splice(0)) fs.closeSync(fd);
    this.root.leave();
  }

  /**
   * The names of the symlink `name` (in `dir`) leads to, to walk from `dir`; an absolute target
   * restarts the walk at the root (only when it lies inside the grant's host path: else EACCES).
   * ENOTDIR when `name` is not a symlink (it was met where a directory was needed).
   */
  private *readLink(name: string): FsOp<string[]> {
    if (++this.links > MAX_SYMLINKS) throw new SysError(ELOOP);
    let target: Buffer;
    try {
      target = yield* fsReadlink(at(this.dir, name));
    } catch (e) {
      if (errnoOf(e) === EINVAL) throw new SysError(ENOTDIR); // not a symlink
      throw e;
    }
    if (target.length === 0) throw new SysError(ENOENT);
    if (target[0] !== 0x2f) return targetNames(target);
    const root = this.root.host;
    const inside = root.length === 1 || (target.length >= root.length && target.subarray(0, root.length).equals(root) && (target.length === root.length || target[root.length] === 0x2f));
    if (!inside) throw new SysError(EACCES, 'symlink leads out of its grant');
    for (const fd of this.held.splice(0)) fs.closeSync(fd);
    return targetNames(target.subarray(root.length));
  }
}
