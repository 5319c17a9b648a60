import {
  SYS_fstat, SYS_newfstatat, SYS_openat, SYS_close, SYS_lseek, SYS_getdents64, SYS_fcntl, SYS_clock_gettime,
  STAT_SIZE, STAT_ST_DEV, STAT_ST_INO, STAT_ST_NLINK, STAT_ST_MODE, STAT_ST_SIZE, STAT_ST_ATIME_SEC, STAT_ST_ATIME_NSEC,
  STAT_ST_MTIME_SEC, STAT_ST_MTIME_NSEC, STAT_ST_CTIME_SEC, STAT_ST_CTIME_NSEC, S_IFMT, S_IFREG, S_IFDIR, S_IFCHR,
  S_IFBLK, S_IFLNK, S_IFSOCK, S_IFIFO, ENAMETOOLONG, PATH_MAX, SYS_utimensat, UTIME_NOW, UTIME_OMIT,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { SyscallPort, SysCall } from '../syscall-port.js';
import { FILETYPE } from '../wasi-abi.js';

/** What WASI's filestat needs of a struct stat (times in nanoseconds). */
export interface Stat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: number;
  readonly nlink: bigint;
  readonly size: bigint;
  readonly atim: bigint;
  readonly mtim: bigint;
  readonly ctim: bigint;
}

export function filetypeOf(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return FILETYPE.REGULAR_FILE;
    case S_IFDIR: return FILETYPE.DIRECTORY;
    case S_IFCHR: return FILETYPE.CHARACTER_DEVICE;
    case S_IFBLK: return FILETYPE.BLOCK_DEVICE;
    case S_IFLNK: return FILETYPE.SYMBOLIC_LINK;
    case S_IFSOCK: return FILETYPE.SOCKET_STREAM;
    case S_IFIFO: return FILETYPE.UNKNOWN; // WASI has no FIFO type; wasmtime and uvwasi say unknown too
    default: return FILETYPE.UNKNOWN;
  }
}

/**
 * Linux system calls made for the WASI functions, through the program's syscall pages. Strings and
 * records the kernel reads or writes are placed in the host's scratch region (paths need a NUL the
 * program did not write; stat records are translated); data buffers stay the program's own, so reads
 * and writes are zero-copy. `reset` starts each WASI function with an empty scratch.
 */
export class LinuxCalls {
  private top = 0;

  constructor(
    readonly port: SyscallPort,
    private readonly mem: () => GuestMemory,
  ) {}

  reset(): void {
    this.top = 0;
  }

  /** Bytes of scratch, 8-aligned; null when the scratch is full (the call answers ENOMEM). */
  alloc(len: number): number {
    const at = this.port.scratch + this.top;
    this.top += (len + 7) & ~7;
    if (this.top > this.port.scratchBytes) throw new ScratchFull();
    return at;
  }

  /** A copy of the program's path bytes, NUL-terminated, in scratch. */
  path(bytes: Uint8Array): number {
    if (bytes.length >= PATH_MAX) return -ENAMETOOLONG;
    const at = this.alloc(bytes.length + 1);
    const m = this.mem();
    m.write(at, bytes);
    m.setU8(at + bytes.length, 0);
    return at;
  }

  call(nr: number, fd: number, ...args: number[]): number {
    return this.port.call(nr, fd, ...args);
  }

  run(calls: readonly SysCall[]): number[] {
    return this.port.run(calls);
  }

  readStat(at: number): Stat {
    const v = this.mem().view;
    const ns = (sec: number, nsec: number): bigint => v.getBigInt64(at + sec, true) * 1_000_000_000n + v.getBigInt64(at + nsec, true);
    return {
      dev: v.getBigUint64(at + STAT_ST_DEV, true),
      ino: v.getBigUint64(at + STAT_ST_INO, true),
      nlink: v.getBigUint64(at + STAT_ST_NLINK, true),
      mode: v.getUint32(at + STAT_ST_MODE, true),
      size: v.getBigInt64(at + STAT_ST_SIZE, true),
      atim: ns(STAT_ST_ATIME_SEC, STAT_ST_ATIME_NSEC),
      mtim: ns(STAT_ST_MTIME_SEC, STAT_ST_MTIME_NSEC),
      ctim: ns(STAT_ST_CTIME_SEC, STAT_ST_CTIME_NSEC),
    };
  }

  /** fstat: the record, or a negative Linux errno. */
  fstat(kfd: number): Stat | number {
    const buf = this.alloc(STAT_SIZE);
    const r = this.call(SYS_fstat, kfd, kfd, buf);
    return r < 0 ? r : this.readStat(buf);
  }

  /** newfstatat relative to a kernel directory descriptor. */
  statat(kdir: number, path: number, flags: number): Stat | number {
    const buf = this.alloc(STAT_SIZE);
    const r = this.call(SYS_newfstatat, kdir, kdir, path, buf, flags);
    return r < 0 ? r : this.readStat(buf);
  }

  openat(kdir: number, path: number, flags: number, mode: number): number {
    return this.call(SYS_openat, kdir, kdir, path, flags, mode);
  }

  close(kfd: number): number {
    return this.call(SYS_close, kfd, kfd);
  }

  /** lseek with a 64-bit offset; the new position or a negative errno. */
  lseek(kfd: number, offset: bigint, whence: number): number {
    const off = BigInt.asIntN(64, offset);
    return this.call(SYS_lseek, kfd, kfd, Number(BigInt.asIntN(32, off)), Number(BigInt.asIntN(32, off >> 32n)), whence);
  }

  getdents(kfd: number, buf: number, len: number): number {
    return this.call(SYS_getdents64, kfd, kfd, buf, len);
  }

  fcntl(kfd: number, cmd: number, arg = 0): number {
    return this.call(SYS_fcntl, kfd, kfd, cmd, arg);
  }

  /**
   * utimensat from WASI's fstflags (ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8) and nanosecond times;
   * `path` 0: the descriptor itself. A time neither set nor "now" is left alone (UTIME_OMIT).
   */
  utimens(kfd: number, path: number, atim: bigint, mtim: bigint, fst: number, flags: number): number {
    const ts = this.alloc(32);
    const v = this.mem().view;
    const put = (at: number, ns: bigint, set: boolean, now: boolean): void => {
      v.setBigInt64(at, set ? ns / 1_000_000_000n : 0n, true);
      v.setBigInt64(at + 8, set ? ns % 1_000_000_000n : BigInt(now ? UTIME_NOW : UTIME_OMIT), true);
    };
    put(ts, atim, (fst & 1) !== 0, (fst & 2) !== 0);
    put(ts + 16, mtim, (fst & 4) !== 0, (fst & 8) !== 0);
    return this.call(SYS_utimensat, kfd, kfd, path, ts, flags);
  }

  /** clock_gettime in nanoseconds, or a negative errno. */
  clock(linuxClock: number): bigint | number {
    const ts = this.alloc(16);
    const r = this.call(SYS_clock_gettime, -1, linuxClock, ts);
    if (r < 0) return r;
    const v = this.mem().view;
    return v.getBigInt64(ts, true) * 1_000_000_000n + v.getBigInt64(ts + 8, true);
  }
}

/** The scratch region cannot hold what a call needs (an enormous poll_oneoff, say). */
export class ScratchFull extends Error {}
