import {
  SYS_openat, SYS_fstat, SYS_ftruncate, SYS_fsync, SYS_fdatasync, SYS_mkdirat, SYS_unlinkat, SYS_renameat,
  SYS_getdents64, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC,
  O_NOFOLLOW, O_SYNC, O_DSYNC, S_IFMT, S_IFREG, S_IFDIR, S_IFCHR, S_IFBLK, S_IFLNK, S_IFSOCK, S_IFIFO, STAT_SIZE,
  PATH_MAX, DT_DIR, DT_REG, DT_LNK, DT_CHR, DT_BLK, DT_SOCK, DT_FIFO, LINUX_DIRENT64_D_RECLEN, LINUX_DIRENT64_D_TYPE,
  LINUX_DIRENT64_SIZE,
} from '../../abi/v1.js';
import type { Stat } from '../preview1/linux.js';
import type { P2Context } from './context.js';
import { IoError, fsCode } from './errors.js';
import { DISPOSE, type IoInterfaces } from './io.js';
import { linkCalls } from './link-calls.js';

export type DescriptorType = 'unknown' | 'block-device' | 'character-device' | 'directory' | 'fifo' | 'symbolic-link' | 'regular-file' | 'socket';

export interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  fileIntegritySync?: boolean;
  dataIntegritySync?: boolean;
  requestedWriteSync?: boolean;
  mutateDirectory?: boolean;
}

interface PathFlags {
  symlinkFollow?: boolean;
}

interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}

interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}

export type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };

export function typeOfMode(mode: number): DescriptorType {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'regular-file';
    case S_IFDIR: return 'directory';
    case S_IFCHR: return 'character-device';
    case S_IFBLK: return 'block-device';
    case S_IFLNK: return 'symbolic-link';
    case S_IFSOCK: return 'socket';
    case S_IFIFO: return 'fifo';
    default: return 'unknown';
  }
}

function typeOfDirent(t: number): DescriptorType {
  switch (t) {
    case DT_REG: return 'regular-file';
    case DT_DIR: return 'directory';
    case DT_LNK: return 'symbolic-link';
    case DT_CHR: return 'character-device';
    case DT_BLK: return 'block-device';
    case DT_SOCK: return 'socket';
    case DT_FIFO: return 'fifo';
    default: return 'unknown';
  }
}

const datetime = (ns: bigint): Datetime => {
  const s = ns / 1_000_000_000n;
  let n = ns % 1_000_000_000n;
  if (n < 0n) return { seconds: s - 1n, nanoseconds: Number(n + 1_000_000_000n) };
  return { seconds: s, nanoseconds: Number(n) };
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `wasi:filesystem/types` and `preopens` for one component: descriptors are kernel descriptors,
 * every operation one or a few Linux calls on the syscall pages. Paths follow the capability rule
 * preview 1 has: relative, never climbing above the descriptor they are looked up from (absolute
 * paths and escaping `..` answer `not-permitted`, wasmtime's code for it); symlinks are followed by
 * the kernel inside the grant behind the preopen.
 */
export interface FilesystemInterfaces {
  /** Opens the preopened directories (once the syscall pages are registered). */
  openPreopens(): void;
  readonly types: Record<string, unknown>;
  readonly preopens: Record<string, unknown>;
}

export function filesystemInterfaces(ctx: P2Context, io: IoInterfaces): FilesystemInterfaces {
  /** A NUL-terminated copy of a checked path in scratch. */
  function pathArg(path: string): number {
    const bytes = encoder.encode(path);
    if (bytes.includes(0)) throw 'invalid';
    if (bytes.length === 0) throw 'no-entry';
    if (bytes.length >= PATH_MAX) throw 'name-too-long';
    if (bytes[0] === 0x2f) throw 'not-permitted';
    let depth = 0;
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (--depth < 0) throw 'not-permitted';
      } else depth++;
    }
    const at = ctx.sys.path(bytes);
    if (at < 0) throw fsCode(at);
    return at;
  }

  const check = (r: number): number => {
    if (r < 0) throw fsCode(r);
    return r;
  };

  function fstat(kfd: number): Stat {
    const buf = ctx.sys.alloc(STAT_SIZE);
    check(ctx.sys.call(SYS_fstat, kfd, kfd, buf));
    return ctx.sys.readStat(buf);
  }

  function descriptorStat(st: Stat) {
    return {
      type: typeOfMode(st.mode),
      linkCount: st.nlink,
      size: BigInt.asUintN(64, st.size),
      dataAccessTimestamp: datetime(st.atim),
      dataModificationTimestamp: datetime(st.mtim),
      statusChangeTimestamp: datetime(st.ctim),
    };
  }

  class DirectoryEntryStream {
    private entries: { type: DescriptorType; name: string }[] = [];
    private end = false;
    private kfd: number;

    constructor(kfd: number) {
      this.kfd = kfd;
    }

    readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
      ctx.begin();
      while (this.entries.length === 0 && !this.end) {
        const len = 16384;
        const buf = ctx.sys.alloc(len);
        const n = ctx.sys.getdents(this.kfd, buf, len);
        if (n < 0) throw fsCode(n);
        if (n === 0) {
          this.end = true;
          this.close();
          break;
        }
        const m = ctx.mem();
        for (let at = buf; at < buf + n; ) {
          const reclen = m.view.getUint16(at + LINUX_DIRENT64_D_RECLEN, true);
          const raw = m.bytes(at + LINUX_DIRENT64_SIZE, reclen - LINUX_DIRENT64_SIZE);
          const name = decoder.decode(raw.subarray(0, raw.indexOf(0) < 0 ? raw.length : raw.indexOf(0)));
          // Preview 2 lists neither `.` nor `..`.
          if (name !== '.' && name !== '..') this.entries.push({ type: typeOfDirent(m.view.getUint8(at + LINUX_DIRENT64_D_TYPE)), name });
          at += reclen;
        }
      }
      return this.entries.shift();
    }

    private close(): void {
      if (this.kfd >= 0) ctx.sys.close(this.kfd);
      this.kfd = -1;
    }

    [DISPOSE](): void {
      ctx.begin();
      this.close();
    }
  }

  class Descriptor {
    private kfd: number;

    constructor(
      kfd: number,
      readonly type: DescriptorType,
      private readonly flags: DescriptorFlags,
      /** A preopen lives as long as the program: dropping its handle does not close it. */
      private readonly preopen = false,
    ) {
      this.kfd = kfd;
    }

    /** The kernel descriptor, for the calls of another module (links, times). */
    get fd(): number {
      if (this.kfd < 0) throw 'bad-descriptor';
      return this.kfd;
    }

    private dir(): number {
      if (this.type !== 'directory') throw 'not-directory';
      return this.fd;
    }

    private needMutate(): void {
      if (!this.flags.mutateDirectory) throw 'not-permitted';
    }

    private stream(offset: bigint | null) {
      return { kfd: this.fd, offset, alwaysReady: this.type === 'regular-file' || this.type === 'directory' };
    }

    readViaStream(offset: bigint) {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.read) throw 'bad-descriptor';
      return new io.InputStream(this.stream(this.type === 'regular-file' ? offset : null));
    }

    writeViaStream(offset: bigint) {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.write) throw 'bad-descriptor';
      return new io.OutputStream(this.stream(this.type === 'regular-file' ? offset : null));
    }

    appendViaStream() {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.write) throw 'bad-descriptor';
      return new io.OutputStream({ ...this.stream(this.type === 'regular-file' ? 0n : null), append: this.type === 'regular-file' });
    }

    // The kernels keep no access-pattern advice; a valid descriptor accepts any.
    advise(_offset: bigint, _length: bigint, _advice: string): void {
      ctx.begin();
      void this.fd;
    }

    syncData(): void {
      ctx.begin();
      check(ctx.sys.call(SYS_fdatasync, this.fd, this.fd));
    }

    sync(): void {
      ctx.begin();
      check(ctx.sys.call(SYS_fsync, this.fd, this.fd));
    }

    getFlags(): DescriptorFlags {
      ctx.begin();
      void this.fd;
      return { ...this.flags };
    }

    getType(): DescriptorType {
      ctx.begin();
      void this.fd;
      return this.type;
    }

    setSize(size: bigint): void {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.write) throw 'bad-descriptor';
      check(ctx.sys.call(SYS_ftruncate, this.fd, this.fd, Number(BigInt.asIntN(32, size)), Number(BigInt.asIntN(32, size >> 32n))));
    }

    setTimes(atim: NewTimestamp, mtim: NewTimestamp): void {
      ctx.begin();
      links.setTimes(this.fd, null, true, atim, mtim);
    }

    read(length: bigint, offset: bigint): [Uint8Array, boolean] {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.read) throw 'bad-descriptor';
      const s = new io.InputStream({ kfd: this.fd, offset, alwaysReady: true });
      try {
        const data = s.blockingRead(length);
        return [data, BigInt(data.length) < length];
      } catch (e) {
        if ((e as { tag?: string }).tag === 'closed') return [new Uint8Array(0), true];
        throw filesystemErrorCode((e as { val: IoError }).val) ?? 'io';
      }
    }

    write(buffer: Uint8Array, offset: bigint): bigint {
      ctx.begin();
      if (this.type === 'directory') throw 'is-directory';
      if (!this.flags.write) throw 'bad-descriptor';
      const s = new io.OutputStream({ kfd: this.fd, offset, alwaysReady: true });
      try {
        for (let i = 0; i < buffer.length; i += ctx.chunk) s.write(buffer.subarray(i, i + ctx.chunk));
      } catch (e) {
        throw filesystemErrorCode((e as { val: IoError }).val) ?? 'io';
      }
      return BigInt(buffer.length);
    }

    readDirectory(): DirectoryEntryStream {
      ctx.begin();
      const dir = this.dir();
      // A descriptor of its own: the listing has its own position, whatever else reads the directory.
      return new DirectoryEntryStream(check(ctx.sys.openat(dir, ctx.sys.path(encoder.encode('.')), O_RDONLY | O_DIRECTORY, 0)));
    }

    createDirectoryAt(path: string): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      check(ctx.sys.call(SYS_mkdirat, dir, dir, pathArg(path), 0o777));
    }

    stat() {
      ctx.begin();
      return descriptorStat(fstat(this.fd));
    }

    statAt(pathFlags: PathFlags, path: string) {
      ctx.begin();
      const dir = this.dir();
      const st = ctx.sys.statat(dir, pathArg(path), pathFlags.symlinkFollow ? 0 : AT_SYMLINK_NOFOLLOW);
      if (typeof st === 'number') throw fsCode(st);
      return descriptorStat(st);
    }

    setTimesAt(pathFlags: PathFlags, path: string, atim: NewTimestamp, mtim: NewTimestamp): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      links.setTimes(dir, pathArg(path), pathFlags.symlinkFollow === true, atim, mtim);
    }

    linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
      ctx.begin();
      const dir = this.dir();
      if (!(newDescriptor instanceof Descriptor)) throw 'bad-descriptor';
      const newDir = newDescriptor.dir();
      newDescriptor.needMutate();
      links.link(dir, pathArg(oldPath), newDir, pathArg(newPath), oldPathFlags.symlinkFollow === true);
    }

    openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
      ctx.begin();
      const dir = this.dir();
      // wasmtime's rule: without mutate-directory nothing is created, truncated or opened for writing.
      if ((openFlags.create || openFlags.truncate || flags.write || flags.mutateDirectory) && !this.flags.mutateDirectory) throw 'not-permitted';
      if (openFlags.directory && (flags.write || openFlags.truncate)) throw 'is-directory';
      let f = flags.read && flags.write ? O_RDWR : flags.write ? O_WRONLY : O_RDONLY;
      if (openFlags.create) f |= O_CREAT;
      if (openFlags.exclusive) f |= O_EXCL;
      if (openFlags.truncate) f |= O_TRUNC;
      if (openFlags.directory) f |= O_DIRECTORY;
      if (!pathFlags.symlinkFollow) f |= O_NOFOLLOW;
      if (flags.fileIntegritySync) f |= O_SYNC;
      else if (flags.dataIntegritySync) f |= O_DSYNC;
      const p = pathArg(path);
      const kfd = check(ctx.sys.openat(dir, p, f, 0o666));
      let st: Stat;
      try {
        st = fstat(kfd);
      } catch (e) {
        ctx.sys.close(kfd);
        throw e;
      }
      const type = typeOfMode(st.mode);
      const own: DescriptorFlags = { ...flags };
      return new Descriptor(kfd, type, own);
    }

    readlinkAt(path: string): string {
      ctx.begin();
      const dir = this.dir();
      return links.readlink(dir, pathArg(path));
    }

    removeDirectoryAt(path: string): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      check(ctx.sys.call(SYS_unlinkat, dir, dir, pathArg(path), AT_REMOVEDIR));
    }

    renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      if (!(newDescriptor instanceof Descriptor)) throw 'bad-descriptor';
      const newDir = newDescriptor.dir();
      newDescriptor.needMutate();
      check(ctx.sys.call(SYS_renameat, dir, dir, pathArg(oldPath), newDir, pathArg(newPath)));
    }

    symlinkAt(oldPath: string, newPath: string): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      const target = encoder.encode(oldPath);
      if (target.includes(0)) throw 'invalid';
      // A target is stored as written; it is resolved (inside the grant) only when followed. An
      // absolute one can never be followed from inside a preopen: refused here, as wasmtime does.
      if (target[0] === 0x2f) throw 'not-permitted';
      links.symlink(ctx.sys.path(target), dir, pathArg(newPath));
    }

    unlinkFileAt(path: string): void {
      ctx.begin();
      const dir = this.dir();
      this.needMutate();
      check(ctx.sys.call(SYS_unlinkat, dir, dir, pathArg(path), 0));
    }

    isSameObject(other: Descriptor): boolean {
      ctx.begin();
      if (!(other instanceof Descriptor)) return false;
      const a = fstat(this.fd);
      const b = fstat(other.fd);
      return a.dev === b.dev && a.ino === b.ino;
    }

    metadataHash() {
      ctx.begin();
      return hashOf(fstat(this.fd));
    }

    metadataHashAt(pathFlags: PathFlags, path: string) {
      ctx.begin();
      const dir = this.dir();
      const st = ctx.sys.statat(dir, pathArg(path), pathFlags.symlinkFollow ? 0 : AT_SYMLINK_NOFOLLOW);
      if (typeof st === 'number') throw fsCode(st);
      return hashOf(st);
    }

    [DISPOSE](): void {
      if (this.preopen || this.kfd < 0) return;
      ctx.begin();
      ctx.sys.close(this.kfd);
      this.kfd = -1;
    }
  }

  /** Same object, same hash: the device and inode (what identifies a file), mixed with its size and times. */
  function hashOf(st: Stat): { lower: bigint; upper: bigint } {
    const mix = (a: bigint, b: bigint): bigint => BigInt.asUintN(64, (a ^ b) * 0x100000001b3n);
    return { lower: mix(st.ino, st.mtim), upper: mix(st.dev, BigInt.asUintN(64, st.size) ^ st.ctim) };
  }

  function filesystemErrorCode(err: unknown): string | undefined {
    return err instanceof IoError ? fsCode(-err.linuxErrno) : undefined;
  }

  const links = linkCalls(ctx);

  let preopened: [Descriptor, string][] | null = null;
  /** Opens the preopens (once the syscall pages are registered). */
  function openPreopens(): void {
    preopened = ctx.preopens.map((p) => {
      ctx.begin();
      const kfd = ctx.sys.openat(-100, ctx.sys.path(encoder.encode(p.kernelPath)), O_RDONLY | O_DIRECTORY, 0);
      if (kfd < 0) throw new Error(`cannot open the preopened directory ${p.name} (errno ${-kfd})`);
      return [new Descriptor(kfd, 'directory', { read: true, mutateDirectory: true }, true), p.name];
    });
  }

  return {
    openPreopens,
    types: { Descriptor, DirectoryEntryStream, filesystemErrorCode },
    preopens: {
      getDirectories(): [Descriptor, string][] {
        ctx.begin();
        return [...(preopened ?? [])];
      },
    },
  };
}
