// symlinkat, readlinkat, linkat and utimensat on the native kernel: the same conformance checks as
// tests/wasi-kernel-links.test.ts (virtual and os kernels), posted as entries to a native executor
// from a fake guest. The sandbox's rules: a target stored as given is never followed out of the
// grant (openat2 RESOLVE_BENEATH; EACCES, as the os kernel answers), a hard link only inside one grant, read-only
// grants answer EROFS.
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EACCES, AT_FDCWD, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, EEXIST, EINVAL, ELOOP, ENOENT, EPERM, EROFS, EXDEV, O_RDONLY, ST_DONE,
  STAT_ST_INO, STAT_ST_MODE, STAT_ST_MTIME_SEC, STAT_ST_MTIME_NSEC, STAT_ST_ATIME_SEC, S_IFLNK, S_IFMT, SYS_close, SYS_linkat,
  SYS_newfstatat, SYS_openat, SYS_read, SYS_readlinkat, SYS_symlinkat, SYS_utimensat, TW_DOORBELL, TW_NEEDS_WAKEUP, UTIME_OMIT, threadLineW,
} from '../host/abi/v1.js';
import { FakeGuest } from './helpers/fake-guest.js';
import { addon, native, nativeTest } from './helpers/native.js';

const t = nativeTest();
const S = suite('native kernel: links and times');
const SCRATCH = 400_000;
const root = mkdtempSync(join(tmpdir(), 'flexvm-native-links-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cleanup: (() => void) | null = null;
S.after.each(() => {
  cleanup?.();
  cleanup = null;
});
S.after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function setup() {
  const base = join(root, String(n++));
  for (const d of ['data', 'data/sub', 'ro', 'other']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'data/f'), 'data');
  writeFileSync(join(base, 'ro/g'), 'ro');
  const guest = new FakeGuest(8, 1);
  const layout = guest.register(0, 4242);
  const a = addon();
  const ex = a.createExecutor(1, 50, 50, false);
  a.attach(ex, guest.memory.buffer as SharedArrayBuffer, {
    gid: 1, pid: 4242, name: 'links', ctrl: layout.ctrl, pagesPtr: layout.pagesPtr, pageCount: layout.pageCount, threads: 1,
    maxFds: 64, maxPending: 64, listenAny: false, stdio: [-1, -1, -1],
    grants: [
      { hostPath: join(base, 'data'), guestPath: '/data' },
      { hostPath: join(base, 'ro'), guestPath: '/ro', readOnly: true },
      { hostPath: join(base, 'other'), guestPath: '/other' },
    ],
  });
  cleanup = () => {
    a.detach(ex, 1);
    a.destroyExecutor(ex);
  };
  const call = async (sysno: number, ...args: number[]): Promise<number> => {
    const i = guest.post(0, sysno, args, 0);
    const line = threadLineW(guest.ctrl, 0);
    if (Atomics.load(guest.i32, line + TW_NEEDS_WAKEUP) !== 0) {
      Atomics.add(guest.i32, line + TW_DOORBELL, 1);
      a.wake(guest.memory.buffer as SharedArrayBuffer, (line + TW_DOORBELL) * 4);
    }
    const until = Date.now() + 5000;
    while (guest.status(i) !== ST_DONE) {
      if (Date.now() > until) throw new Error(`call ${sysno} not done`);
      await sleep(1);
    }
    const r = guest.result(i);
    guest.free(i);
    return r;
  };
  let strings = SCRATCH;
  const str = (s: string): number => {
    const b = Buffer.from(s + '\0');
    const at = strings;
    strings += (b.length + 7) & ~7;
    if (strings > SCRATCH + 40_000) strings = SCRATCH;
    new Uint8Array(guest.memory.buffer).set(b, at);
    return at;
  };
  const statBuf = SCRATCH + 50_000;
  const stat = async (path: string, flags = 0) => {
    const r = await call(SYS_newfstatat, AT_FDCWD, str(path), statBuf, flags);
    if (r < 0) return r;
    return {
      mode: guest.mem.u32(statBuf + STAT_ST_MODE),
      ino: guest.mem.i64(statBuf + STAT_ST_INO),
      atime: guest.mem.i64(statBuf + STAT_ST_ATIME_SEC),
      mtime: guest.mem.i64(statBuf + STAT_ST_MTIME_SEC),
      mtimeNs: guest.mem.i64(statBuf + STAT_ST_MTIME_NSEC),
    };
  };
  const buf = SCRATCH + 60_000;
  const readFile = async (path: string): Promise<string | number> => {
    const fd = await call(SYS_openat, AT_FDCWD, str(path), O_RDONLY, 0);
    if (fd < 0) return fd;
    const r = await call(SYS_read, fd, buf, 64);
    await call(SYS_close, fd);
    return r < 0 ? r : Buffer.from(new Uint8Array(guest.memory.buffer, buf, r)).toString();
  };
  const readlink = async (path: string, size = 256): Promise<string | number> => {
    const r = await call(SYS_readlinkat, AT_FDCWD, str(path), buf, size);
    return r < 0 ? r : Buffer.from(new Uint8Array(guest.memory.buffer, buf, r)).toString();
  };
  const symlink = (target: string, path: string) => call(SYS_symlinkat, str(target), AT_FDCWD, str(path));
  const link = (from: string, to: string, flags = 0) => call(SYS_linkat, AT_FDCWD, str(from), AT_FDCWD, str(to), flags);
  const times = SCRATCH + 55_000;
  const setTimes = (path: string | null, a: [number, number], m: [number, number], flags = 0, dirfd = AT_FDCWD) => {
    guest.mem.setI64(times, a[0]);
    guest.mem.setI64(times + 8, a[1]);
    guest.mem.setI64(times + 16, m[0]);
    guest.mem.setI64(times + 24, m[1]);
    return call(SYS_utimensat, dirfd, path === null ? 0 : str(path), times, flags);
  };
  return { base, call, str, stat, readFile, readlink, symlink, link, setTimes };
}

S('symlinkat: stored as given, followed beneath the grant, never out of it', async () => {
  const g = setup();
  assert.is(await g.symlink('f', '/data/ln'), 0);
  assert.is(readlinkSync(join(g.base, 'data/ln')), 'f');
  assert.is(await g.readFile('/data/ln'), 'data');
  const st = await g.stat('/data/ln', AT_SYMLINK_NOFOLLOW);
  assert.is(typeof st === 'number' ? st : st.mode & S_IFMT, S_IFLNK);
  assert.is(await g.symlink('f', '/data/ln'), -EEXIST);
  assert.is(await g.symlink('', '/data/empty'), -ENOENT);
  assert.is(await g.symlink('nowhere', '/data/dangling'), 0);
  assert.is(await g.readFile('/data/dangling'), -ENOENT);
  assert.is(await g.symlink('loop', '/data/loop'), 0);
  assert.is(await g.readFile('/data/loop'), -ELOOP);
  assert.is(await g.symlink('../../../../../etc/passwd', '/data/out'), 0);
  assert.is(await g.readlink('/data/out'), '../../../../../etc/passwd');
  assert.is(await g.readFile('/data/out'), -EACCES, 'openat2 RESOLVE_BENEATH refuses to leave the grant (EACCES, as the os kernel)');
  assert.is(await g.symlink('/etc/passwd', '/data/abs'), 0);
  assert.is(await g.readFile('/data/abs'), -EACCES);
  assert.is(await g.symlink('g', '/ro/ln'), -EROFS);
  assert.is(await g.symlink('x', '/ro/g'), -EEXIST);
});

S('readlinkat: the target cut to the buffer; EINVAL for what is not a link', async () => {
  const g = setup();
  assert.is(await g.symlink('a/long/target', '/data/long'), 0);
  assert.is(await g.readlink('/data/long'), 'a/long/target');
  assert.is(await g.readlink('/data/long', 6), 'a/long');
  assert.is(await g.readlink('/data/f'), -EINVAL);
  assert.is(await g.readlink('/data'), -EINVAL);
  assert.is(await g.readlink('/data/missing'), -ENOENT);
  assert.is(await g.readlink('/data/long', 0), -EINVAL);
});

S('linkat: inside one grant; symlinks followed only with AT_SYMLINK_FOLLOW', async () => {
  const g = setup();
  assert.is(await g.link('/data/f', '/data/hard'), 0);
  const a = await g.stat('/data/f');
  const b = await g.stat('/data/hard');
  if (typeof a === 'number' || typeof b === 'number') throw new Error('stat failed');
  assert.is(b.ino, a.ino);
  assert.is(await g.link('/data/f', '/data/hard'), -EEXIST);
  assert.is(await g.link('/data/missing', '/data/x'), -ENOENT);
  assert.is(await g.link('/data/sub', '/data/dirlink'), -EPERM);
  assert.is(await g.symlink('f', '/data/ln'), 0);
  assert.is(await g.link('/data/ln', '/data/ln2'), 0);
  const l2 = await g.stat('/data/ln2', AT_SYMLINK_NOFOLLOW);
  assert.is(typeof l2 === 'number' ? l2 : l2.mode & S_IFMT, S_IFLNK);
  assert.is(await g.link('/data/ln', '/data/f3', AT_SYMLINK_FOLLOW), 0);
  const f3 = await g.stat('/data/f3', AT_SYMLINK_NOFOLLOW);
  assert.is(typeof f3 === 'number' ? f3 : f3.ino, a.ino);
  assert.is(await g.link('/data/f', '/data/x', 0x1000), -EINVAL);
  assert.is(await g.link('/data/f', '/ro/f'), -EROFS);
  assert.is(await g.link('/data/f', '/other/f'), -EXDEV);
  assert.is(statSync(join(g.base, 'data/f')).nlink, 3);
});

S('utimensat: by path (following or not) and by descriptor; UTIME_OMIT; read-only grants', async () => {
  const g = setup();
  assert.is(await g.setTimes('/data/f', [1_000_000_000, 5], [1_200_000_000, 7]), 0);
  let st = await g.stat('/data/f');
  if (typeof st === 'number') throw new Error('stat failed');
  assert.is(st.atime, 1_000_000_000);
  assert.is(st.mtime, 1_200_000_000);
  assert.is(st.mtimeNs, 7, 'nanoseconds kept');
  assert.is(await g.setTimes('/data/f', [0, UTIME_OMIT], [1_300_000_000, 0]), 0);
  st = (await g.stat('/data/f')) as Exclude<typeof st, number>;
  assert.is(st.atime, 1_000_000_000);
  assert.is(st.mtime, 1_300_000_000);
  const fd = await g.call(SYS_openat, AT_FDCWD, g.str('/data/f'), O_RDONLY, 0);
  assert.is(await g.setTimes(null, [0, UTIME_OMIT], [1_150_000_000, 0], 0, fd), 0);
  st = (await g.stat('/data/f')) as Exclude<typeof st, number>;
  assert.is(st.mtime, 1_150_000_000);
  assert.is(await g.symlink('f', '/data/ln'), 0);
  assert.is(await g.setTimes('/data/ln', [0, UTIME_OMIT], [1_400_000_000, 0]), 0);
  assert.is(((await g.stat('/data/f')) as Exclude<typeof st, number>).mtime, 1_400_000_000);
  assert.is(await g.setTimes('/data/ln', [0, UTIME_OMIT], [1_410_000_000, 0], AT_SYMLINK_NOFOLLOW), 0);
  assert.is(((await g.stat('/data/f')) as Exclude<typeof st, number>).mtime, 1_400_000_000);
  assert.is(await g.setTimes('/data/f', [0, 1_000_000_000], [0, 0]), -EINVAL);
  assert.is(await g.setTimes('/data/missing', [0, UTIME_OMIT], [0, UTIME_OMIT]), -ENOENT);
  assert.is(await g.setTimes('/ro/g', [0, 0], [0, 0]), -EROFS);
  const ro = await g.call(SYS_openat, AT_FDCWD, g.str('/ro/g'), O_RDONLY, 0);
  assert.is(await g.setTimes(null, [0, 0], [0, 0], 0, ro), -EROFS);
});

// The suite runs where the addon is available; elsewhere one test says why (and fails in CI).
if (typeof native !== 'string') S.run();
else t('native kernel: links and times', () => {});
