import {
  STAT_SIZE,
  STAT_ST_ATIME_NSEC,
  STAT_ST_ATIME_SEC,
  STAT_ST_BLKSIZE,
  STAT_ST_BLOCKS,
  STAT_ST_CTIME_NSEC,
  STAT_ST_CTIME_SEC,
  STAT_ST_DEV,
  STAT_ST_GID,
  STAT_ST_INO,
  STAT_ST_MODE,
  STAT_ST_MTIME_NSEC,
  STAT_ST_MTIME_SEC,
  STAT_ST_NLINK,
  STAT_ST_RDEV,
  STAT_ST_SIZE,
  STAT_ST_UID,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { Timespec } from './time.js';

/** What fstat reports about an object, in the fields of the x86-64 struct stat. */
export interface StatInfo {
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
  /** File type (S_IF*) and permission bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  readonly blksize: number;
  /** 512-byte blocks allocated. */
  readonly blocks: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
}

/** Device numbers of the objects the kernels make up (the values Linux uses for these filesystems). */
export const SOCKFS_DEV = 0x08;
export const PIPEFS_DEV = 0x0c;
export const ANON_INODE_DEV = 0x0d;
export const STDIO_DEV = 0x16;
/** The standard streams are a terminal-like character device (pts 136:0). */
export const STDIO_RDEV = 136 << 8;

/** Stat of an object without storage (socket, pipe, epoll set, standard stream, synthetic directory). */
export function objectStat(dev: number, ino: number, mode: number, time: Timespec, rdev = 0, nlink = 1, blksize = 4096): StatInfo {
  return { dev, ino, nlink, mode, uid: 0, gid: 0, rdev, size: 0, blksize, blocks: 0, atime: time, mtime: time, ctime: time };
}

/** 512-byte blocks a file of `size` bytes occupies when stored in `blksize` blocks. */
export function blocksFor(size: number, blksize: number): number {
  return Math.ceil(size / blksize) * (blksize / 512);
}

/** Writes the 144-byte struct stat; padding and reserved words are zero. */
export function writeStat(memory: GuestMemory, ptr: number, st: StatInfo): void {
  memory.fill(ptr, STAT_SIZE, 0);
  memory.setI64(ptr + STAT_ST_DEV, st.dev);
  memory.setI64(ptr + STAT_ST_INO, st.ino);
  memory.setI64(ptr + STAT_ST_NLINK, st.nlink);
  memory.setU32(ptr + STAT_ST_MODE, st.mode);
  memory.setU32(ptr + STAT_ST_UID, st.uid);
  memory.setU32(ptr + STAT_ST_GID, st.gid);
  memory.setI64(ptr + STAT_ST_RDEV, st.rdev);
  memory.setI64(ptr + STAT_ST_SIZE, st.size);
  memory.setI64(ptr + STAT_ST_BLKSIZE, st.blksize);
  memory.setI64(ptr + STAT_ST_BLOCKS, st.blocks);
  memory.setI64(ptr + STAT_ST_ATIME_SEC, st.atime.sec);
  memory.setI64(ptr + STAT_ST_ATIME_NSEC, st.atime.nsec);
  memory.setI64(ptr + STAT_ST_MTIME_SEC, st.mtime.sec);
  memory.setI64(ptr + STAT_ST_MTIME_NSEC, st.mtime.nsec);
  memory.setI64(ptr + STAT_ST_CTIME_SEC, st.ctime.sec);
  memory.setI64(ptr + STAT_ST_CTIME_NSEC, st.ctime.nsec);
}
