import {
  DT_DIR,
  DT_REG,
  EBUSY,
  EEXIST,
  EFBIG,
  EINVAL,
  EISDIR,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  EROFS,
  ENOTEMPTY,
  ELOOP,
  EPERM,
  DT_LNK,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { blocksFor, type StatInfo } from '../common/stat.js';
import { parsePath, type ParsedPath } from '../common/path.js';
import type { Timespec } from '../common/time.js';

/** Device number of the virtual filesystem. */
const FS_DEV = 0x2a;
const BLOCK_SIZE = 4096;
/** The largest file (EFBIG past it) and all files together (ENOSPC past it): guests cannot exhaust the host. */
export const MAX_FILE_SIZE = 256 * 1024 * 1024;
export const FS_CAPACITY = 1024 * 1024 * 1024;
/** Applied to the modes of created files and directories, like a shell's default umask. */
const UMASK = 0o022;
/** Directory positions: "." is 0, ".." is 1, entries get increasing cookies from 2. */
const FIRST_COOKIE = 2;

export abstract class Inode {
  nlink: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** Open file descriptions referring to it (storage is reclaimed when unlinked and unopened). */
  openCount = 0;
  /** Copied from a read-only grant: the guest cannot change, remove or rename it (EROFS). */
  readOnly = false;

  constructor(
    readonly fs: FileSystem,
    readonly ino: number,
    public mode: number,
    nlink: number,
  ) {
    this.nlink = nlink;
    const now = fs.now();
    this.atime = now;
    this.mtime = now;
    this.ctime = now;
  }

  abstract get size(): number;
  abstract get direntType(): number;

  /** Marks a change of contents (mtime and ctime). */
  touch(): void {
    const now = this.fs.now();
    this.mtime = now;
    this.ctime = now;
  }

  stat(): StatInfo {
    return {
      dev: FS_DEV,
      ino: this.ino,
      nlink: this.nlink,
      mode: this.mode,
      uid: 0,
      gid: 0,
      rdev: 0,
      size: this.size,
      blksize: BLOCK_SIZE,
      blocks: blocksFor(this.size, BLOCK_SIZE),
      atime: this.atime,
      mtime: this.mtime,
      ctime: this.ctime,
    };
  }
}

export class FileInode extends Inode {
  private data = new Uint8Array(0);
  private length = 0;

  constructor(fs: FileSystem, ino: number, mode: number) {
    super(fs, ino, S_IFREG | (mode & 0o7777), 1);
  }

  get size(): number {
    return this.length;
  }

  get direntType(): number {
    return DT_REG;
  }

  /** A copy of at most `len` bytes at `position` (empty past the end). */
  read(position: number, len: number): Uint8Array {
    if (position >= this.length) return new Uint8Array(0);
    return this.data.slice(position, Math.min(this.length, position + len));
  }

  /**
   * How many of `len` bytes at `position` may be written (EFBIG at MAX_FILE_SIZE, ENOSPC when the
   * filesystem is full); fewer than asked means a short write, as Linux does at a limit.
   */
  writable(position: number, len: number): number {
    if (len === 0) return 0;
    if (position >= MAX_FILE_SIZE) throw new SysError(EFBIG);
    let n = Math.min(len, MAX_FILE_SIZE - position);
    const growth = Math.max(0, position + n - this.length);
    const free = FS_CAPACITY - this.fs.used;
    if (growth > free) {
      n = Math.min(n, this.length + free - position);
      if (n <= 0) throw new SysError(ENOSPC);
    }
    return n;
  }

  /** Stores `bytes` at `position` (the caller sized it with `writable`), filling any hole with zeros. */
  write(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    if (end > this.length) this.resize(end);
    this.data.set(bytes, position);
    this.touch();
  }

  truncate(size: number): void {
    if (size > MAX_FILE_SIZE) throw new SysError(EFBIG);
    if (size - this.length > FS_CAPACITY - this.fs.used) throw new SysError(ENOSPC);
    this.resize(size);
    this.touch();
  }

  /** Frees the contents (the file is gone). */
  discard(): void {
    this.fs.used -= this.length;
    this.data = new Uint8Array(0);
    this.length = 0;
  }

  private resize(size: number): void {
    if (size > this.data.length) {
      const capacity = Math.min(MAX_FILE_SIZE, Math.max(size, this.data.length * 2, 64));
      const grown = new Uint8Array(capacity);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    } else if (size < this.length) {
      this.data.fill(0, size, this.length);
    }
    this.fs.used += size - this.length;
    this.length = size;
  }
}

/** A symbolic link: its target, stored as given (resolved only when followed, inside this tree). */
export class SymlinkInode extends Inode {
  constructor(fs: FileSystem, ino: number, readonly target: Uint8Array) {
    super(fs, ino, S_IFLNK | 0o777, 1);
  }

  get size(): number {
    return this.target.length;
  }

  get direntType(): number {
    return DT_LNK;
  }
}

/** Symlinks followed in one lookup before it answers ELOOP (Linux's limit). */
export const MAX_SYMLINK_FOLLOWS = 40;

interface DirEntry {
  readonly inode: Inode;
  readonly cookie: number;
}

export class DirInode extends Inode {
  parent: DirInode;
  /** Insertion order is cookie order: a renamed-in entry is re-inserted with a fresh, larger cookie. */
  private readonly entries = new Map<string, DirEntry>();
  private nextCookie = FIRST_COOKIE;

  constructor(fs: FileSystem, ino: number, mode: number, parent: DirInode | null) {
    super(fs, ino, S_IFDIR | (mode & 0o7777), 2);
    this.parent = parent ?? this;
  }

  get size(): number {
    return BLOCK_SIZE;
  }

  get direntType(): number {
    return DT_DIR;
  }

  /** Removed from the tree (rmdir or replaced by rename): nothing can be created in it. */
  get removed(): boolean {
    return this.nlink === 0;
  }

  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  get(name: string): Inode | undefined {
    return this.entries.get(name)?.inode;
  }

  link(name: string, inode: Inode): void {
    this.entries.set(name, { inode, cookie: this.nextCookie++ });
    if (inode instanceof DirInode) {
      inode.parent = this;
      this.nlink++;
    }
    this.touch();
  }

  unlink(name: string): Inode | undefined {
    const e = this.entries.get(name);
    if (e === undefined) return undefined;
    this.entries.delete(name);
    if (e.inode instanceof DirInode) this.nlink--;
    this.touch();
    return e.inode;
  }

  /** Directory listing from position `cookie` on: ".", "..", then entries with their cookies. */
  *list(cookie: number): Generator<{ name: string; inode: Inode; cookie: number }> {
    if (this.removed) return;
    if (cookie <= 0) yield { name: '.', inode: this, cookie: 0 };
    if (cookie <= 1) yield { name: '..', inode: this.parent, cookie: 1 };
    for (const [name, e] of this.entries) if (e.cookie >= cookie) yield { name, inode: e.inode, cookie: e.cookie };
  }

  /** True if `other` is this directory or inside it. */
  contains(other: DirInode): boolean {
    for (let d = other; ; d = d.parent) {
      if (d === this) return true;
      if (d.parent === d) return false;
    }
  }
}

/** Where a new or removed name goes: its directory and last component (null for "/"). */
export interface ParentRef {
  readonly dir: DirInode;
  readonly name: string | null;
  readonly trailingSlash: boolean;
}

/**
 * The in-memory inode tree shared by every guest of a kernel. Paths resolve component by component
 * as on Linux ("a/.." needs "a" to be a directory; ".." at "/" stays at "/"); symlinks are followed
 * (at most 40 per lookup, then ELOOP) and never lead out of this tree; there are no permission checks (guests act as root). Names are byte strings (see common/path.ts).
 */
export class FileSystem {
  readonly root: DirInode;
  /** Bytes held by files. */
  used = 0;

  constructor(
    private readonly newIno: () => number,
    readonly now: () => Timespec,
  ) {
    this.root = new DirInode(this, newIno(), 0o755, null);
  }

  /**
   * The inode `path` names, starting at `start` when relative. Symlinks on the way are followed
   * (a relative target from the directory holding the link); the last one only when `follow`.
   */
  resolve(start: DirInode, path: ParsedPath, follow = true): Inode {
    const cur = this.walk(path.absolute ? this.root : start, path.components, follow, { n: 0 });
    if (path.trailingSlash && !(cur instanceof DirInode)) throw new SysError(ENOTDIR);
    return cur;
  }

  /** The directory that holds (or would hold) the last component of `path`. */
  resolveParent(start: DirInode, path: ParsedPath): ParentRef {
    const n = path.components.length;
    const cur = this.walk(path.absolute ? this.root : start, path.components.slice(0, Math.max(0, n - 1)), true, { n: 0 });
    if (!(cur instanceof DirInode)) throw new SysError(ENOTDIR);
    return { dir: cur, name: n === 0 ? null : path.components[n - 1]!, trailingSlash: path.trailingSlash };
  }

  /** Walks `names` from `dir`, following symlinks (the last only when `followLast`), at most 40 in all. */
  private walk(dir: DirInode, names: readonly string[], followLast: boolean, follows: { n: number }): Inode {
    let cur: Inode = dir;
    for (let i = 0; i < names.length; i++) {
      if (!(cur instanceof DirInode)) throw new SysError(ENOTDIR);
      const from: DirInode = cur;
      let next = this.step(from, names[i]!);
      if (next instanceof SymlinkInode && (followLast || i < names.length - 1)) {
        if (++follows.n > MAX_SYMLINK_FOLLOWS) throw new SysError(ELOOP);
        if (next.target.length === 0) throw new SysError(ENOENT);
        const target = parsePath(next.target);
        next = this.walk(target.absolute ? this.root : from, target.components, true, follows);
        if (target.trailingSlash && !(next instanceof DirInode)) throw new SysError(ENOTDIR);
      }
      cur = next;
    }
    return cur;
  }

  /** The inode a resolved parent reference names (undefined when absent). */
  lookup(ref: ParentRef): Inode | undefined {
    if (ref.name === null) return ref.dir;
    if (ref.name === '.') return ref.dir;
    if (ref.name === '..') return ref.dir.parent;
    return ref.dir.get(ref.name);
  }

  createFile(ref: ParentRef, mode: number): FileInode {
    const name = this.newName(ref);
    if (ref.dir.readOnly) throw new SysError(EROFS);
    const file = new FileInode(this, this.newIno(), mode & ~UMASK);
    ref.dir.link(name, file);
    return file;
  }

  mkdir(ref: ParentRef, mode: number): DirInode {
    const name = ref.name;
    if (name === null || name === '.' || name === '..' || ref.dir.get(name) !== undefined) throw new SysError(EEXIST);
    if (ref.dir.removed) throw new SysError(ENOENT);
    if (ref.dir.readOnly) throw new SysError(EROFS);
    const dir = new DirInode(this, this.newIno(), mode & 0o1777 & ~UMASK, ref.dir);
    ref.dir.link(name, dir);
    return dir;
  }

  /** symlinkat: a new link at `ref` holding `target` as given. */
  symlink(ref: ParentRef, target: Uint8Array): SymlinkInode {
    if (target.length === 0) throw new SysError(ENOENT);
    const name = ref.name;
    if (name === null || name === '.' || name === '..' || ref.dir.get(name) !== undefined) throw new SysError(EEXIST);
    if (ref.dir.removed) throw new SysError(ENOENT);
    if (ref.dir.readOnly) throw new SysError(EROFS);
    const link = new SymlinkInode(this, this.newIno(), target);
    ref.dir.link(name, link);
    return link;
  }

  /** linkat: another name for `inode` (never a directory: EPERM, as Linux). */
  hardLink(inode: Inode, ref: ParentRef): void {
    if (inode instanceof DirInode) throw new SysError(EPERM);
    if (inode.nlink === 0) throw new SysError(ENOENT);
    const name = this.newName(ref);
    if (ref.dir.readOnly) throw new SysError(EROFS);
    ref.dir.link(name, inode);
    inode.nlink++;
    inode.ctime = this.now();
  }

  /** unlink (removeDir false) or rmdir (removeDir true) with Linux's errors. */
  remove(ref: ParentRef, removeDir: boolean): void {
    const name = ref.name;
    if (!removeDir) {
      if (name === null || name === '.' || name === '..') throw new SysError(EISDIR);
      const inode = ref.dir.get(name);
      if (inode === undefined) throw new SysError(ENOENT);
      if (inode instanceof DirInode) throw new SysError(EISDIR);
      if (ref.trailingSlash) throw new SysError(ENOTDIR);
      if (ref.dir.readOnly || inode.readOnly) throw new SysError(EROFS);
      ref.dir.unlink(name);
      this.dropLink(inode);
      return;
    }
    if (name === null) throw new SysError(EBUSY);
    if (name === '.') throw new SysError(EINVAL);
    if (name === '..') throw new SysError(ENOTEMPTY);
    const inode = ref.dir.get(name);
    if (inode === undefined) throw new SysError(ENOENT);
    if (!(inode instanceof DirInode)) throw new SysError(ENOTDIR);
    if (ref.dir.readOnly || inode.readOnly) throw new SysError(EROFS);
    if (!inode.isEmpty) throw new SysError(ENOTEMPTY);
    ref.dir.unlink(name);
    this.dropLink(inode);
  }

  /** rename(2): moves a file or directory, replacing a file or an empty directory at the target. */
  rename(from: ParentRef, to: ParentRef): void {
    if (!isNormal(from.name) || !isNormal(to.name)) throw new SysError(EBUSY);
    const source = from.dir.get(from.name);
    if (source === undefined) throw new SysError(ENOENT);
    if (from.dir.readOnly || to.dir.readOnly || source.readOnly) throw new SysError(EROFS);
    if (!(source instanceof DirInode) && (from.trailingSlash || to.trailingSlash)) throw new SysError(ENOTDIR);
    if (to.dir.removed) throw new SysError(ENOENT);
    if (source instanceof DirInode && source.contains(to.dir)) throw new SysError(EINVAL);
    const target = to.dir.get(to.name);
    if (target === source) return;
    if (target !== undefined) {
      if (source instanceof DirInode) {
        if (!(target instanceof DirInode)) throw new SysError(ENOTDIR);
        if (!target.isEmpty) throw new SysError(ENOTEMPTY);
      } else if (target instanceof DirInode) {
        throw new SysError(EISDIR);
      }
      to.dir.unlink(to.name);
      this.dropLink(target);
    }
    from.dir.unlink(from.name);
    to.dir.link(to.name, source);
    source.ctime = this.now();
  }

  /** Creates every missing directory along `components` from the root (host-side seeding). */
  mkdirs(components: readonly string[]): DirInode {
    let dir = this.root;
    for (const name of components) {
      if (name === '.') continue;
      dir = name === '..' ? dir.parent : this.dirIn(dir, name, 0o755);
    }
    return dir;
  }

  /** The directory `name` in `dir`, created with `mode` if missing (host-side seeding). */
  dirIn(dir: DirInode, name: string, mode: number): DirInode {
    const existing = dir.get(name);
    if (existing instanceof DirInode) return existing;
    if (existing !== undefined) throw new SysError(ENOTDIR, name);
    const made = new DirInode(this, this.newIno(), mode, dir);
    dir.link(name, made);
    return made;
  }

  /** Creates or replaces the file `name` in `dir` with `bytes` (host-side seeding). */
  fileIn(dir: DirInode, name: string, bytes: Uint8Array, mode = 0o644): FileInode {
    let file = dir.get(name);
    if (file instanceof DirInode) throw new SysError(EISDIR, name);
    if (file === undefined) {
      file = new FileInode(this, this.newIno(), mode);
      dir.link(name, file);
    }
    const f = file as FileInode;
    f.truncate(0);
    if (f.writable(0, bytes.length) < bytes.length) throw new SysError(EFBIG, name);
    f.write(0, bytes);
    return f;
  }

  /** Creates or replaces the file at absolute `components` (host-side seeding). */
  seedFile(components: readonly string[], bytes: Uint8Array, mode = 0o644): FileInode {
    const name = components[components.length - 1];
    if (name === undefined || name === '.' || name === '..') throw new SysError(EISDIR, 'not a file name');
    return this.fileIn(this.mkdirs(components.slice(0, -1)), name, bytes, mode);
  }

  /** Called when an open file description on `inode` is released. */
  closed(inode: Inode): void {
    inode.openCount--;
    if (inode.nlink === 0 && inode.openCount === 0 && inode instanceof FileInode) inode.discard();
  }

  private step(cur: Inode, name: string): Inode {
    if (!(cur instanceof DirInode)) throw new SysError(ENOTDIR);
    if (name === '.') return cur;
    if (name === '..') return cur.parent;
    const next = cur.get(name);
    if (next === undefined) throw new SysError(ENOENT);
    return next;
  }

  private newName(ref: ParentRef): string {
    const name = ref.name;
    if (name === null || name === '.' || name === '..' || ref.trailingSlash) throw new SysError(EISDIR);
    if (ref.dir.removed) throw new SysError(ENOENT);
    if (ref.dir.get(name) !== undefined) throw new SysError(EEXIST);
    return name;
  }

  private dropLink(inode: Inode): void {
    inode.nlink = inode instanceof DirInode ? 0 : inode.nlink - 1;
    inode.ctime = this.now();
    if (inode.nlink === 0 && inode.openCount === 0 && inode instanceof FileInode) inode.discard();
  }
}

function isNormal(name: string | null): name is string {
  return name !== null && name !== '.' && name !== '..';
}
