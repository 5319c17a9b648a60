import type { BigIntStats } from 'node:fs';
import { NSEC_PER_SEC, type Timespec } from '../common/time.js';
import type { StatInfo } from '../common/stat.js';

const NS = BigInt(NSEC_PER_SEC);

function timespec(ns: bigint): Timespec {
  const sec = ns / NS;
  return { sec: Number(sec), nsec: Number(ns - sec * NS) };
}

/** A host file's stat, field for field (numbers above 2^53 lose precision, as inode numbers never reach). */
export function hostStat(st: BigIntStats): StatInfo {
  return {
    dev: Number(st.dev),
    ino: Number(st.ino),
    nlink: Number(st.nlink),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    rdev: Number(st.rdev),
    size: Number(st.size),
    blksize: Number(st.blksize),
    blocks: Number(st.blocks),
    atime: timespec(st.atimeNs),
    mtime: timespec(st.mtimeNs),
    ctime: timespec(st.ctimeNs),
  };
}

/** The current real time as a timespec. */
export function realtimeNow(): Timespec {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1_000_000 };
}

/** The directories above the grants: a made-up device no host filesystem uses. */
export const SYNTHETIC_DEV = 0xf1e5;
