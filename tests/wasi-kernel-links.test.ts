// symlinkat, readlinkat, linkat and utimensat (added to the ABI for WASI's path_symlink,
// path_readlink, path_link and the filestat_set_times functions), one conformance test each, run
// through the virtual kernel and the os kernel (both file drivers): success and error paths as
// Linux answers them, and the sandbox rules: a symlink's target is stored as given but resolution
// never leaves a grant, read-only grants answer EROFS, hard links are made only inside one grant.
// (The native kernel runs the same calls through tests/wasi-preview2.test.ts's components.)
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, EACCES, EEXIST, EINVAL, ELOOP, ENOENT, EPERM, EROFS, EXDEV,
  O_RDONLY, O_RDWR, S_IFLNK, S_IFMT, SYS_linkat, SYS_newfstatat, SYS_openat, SYS_read, SYS_readlinkat,
  SYS_symlinkat, SYS_utimensat, SYS_write, SYS_close, UTIME_NOW, UTIME_OMIT,
} from '../host/abi/v1.js';
import type { Kernel } from '../host/kernel/kernel.js';
import { OsKernel } from '../host/kernel/os/index.js';
import { VirtualKernel } from '../host/kernel/virtual/index.js';
import { KernelHarness, settled, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<unknown>;
const root = mkdtempSync(join(tmpdir(), 'flexvm-links-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const KERNELS: readonly { name: string; make: () => Kernel<unknown>; host: boolean }[] = [
  { name: 'virtual', make: () => new VirtualKernel({ kind: 'virtual' }) as Kernel<unknown>, host: false },
  { name: 'os', make: () => new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated: false, log: () => {} }) as Kernel<unknown>, host: true },
  { name: 'os (colocated)', make: () => new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated: true, log: () => {} }) as Kernel<unknown>, host: true },
];

let n = 0;
/** A guest with /data (writable: a file "f" holding "data", a directory "sub"), /ro (read-only: "g") and /other (writable). */
function setup(make: () => Kernel<unknown>) {
  const base = join(root, String(n++));
  for (const d of ['data', 'data/sub', 'ro', 'other']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'data/f'), 'data');
  writeFileSync(join(base, 'ro/g'), 'ro');
  const h = new KernelHarness(make());
  const p = h.spawn({
    grants: [
      { hostPath: join(base, 'data'), guestPath: '/data' },
      { hostPath: join(base, 'ro'), guestPath: '/ro', readOnly: true },
      { hostPath: join(base, 'other'), guestPath: '/other' },
    ],
  }) as P;
  return { h, p, base };
}

const sys = (p: P, nr: number, ...a: number[]) => settled(p.sys(nr, ...a));
const symlink = (p: P, target: string, path: string) => sys(p, SYS_symlinkat, p.cstr(target), AT_FDCWD, p.cstr(path));
async function readlink(p: P, path: string, size = 256): Promise<string | number> {
  const buf = p.alloc(size);
  const r = await sys(p, SYS_readlinkat, AT_FDCWD, p.cstr(path), buf, size);
  return r < 0 ? r : p.string(buf, r);
}
async function readFile(p: P, path: string): Promise<string | number> {
  const fd = await sys(p, SYS_openat, AT_FDCWD, p.cstr(path), O_RDONLY, 0);
  if (fd < 0) return fd;
  const buf = p.alloc(64);
  const r = await sys(p, SYS_read, fd, buf, 64);
  await sys(p, SYS_close, fd);
  return r < 0 ? r : p.string(buf, r);
}
async function stat(p: P, path: string, flags = 0) {
  const buf = p.statBuf();
  const r = await sys(p, SYS_newfstatat, AT_FDCWD, p.cstr(path), buf, flags);
  return r < 0 ? r : p.readStat(buf);
}
/** Two timespecs (access, modification) in guest memory. */
function times(p: P, a: [number, number], m: [number, number]): number {
  const t = p.alloc(32);
  p.memory.setI64(t, a[0]);
  p.memory.setI64(t + 8, a[1]);
  p.memory.setI64(t + 16, m[0]);
  p.memory.setI64(t + 24, m[1]);
  return t;
}

for (const k of KERNELS) {
  test(`symlinkat (${k.name}): stored as given, followed inside the grant, never out of it`, async () => {
    const { h, p, base } = setup(k.make);
    try {
      assert.is(await symlink(p, 'f', '/data/ln'), 0);
      assert.is(await readFile(p, '/data/ln'), 'data', 'followed to its target');
      const st = await stat(p, '/data/ln', AT_SYMLINK_NOFOLLOW);
      assert.is(typeof st === 'number' ? st : st.mode & S_IFMT, S_IFLNK, 'lstat sees the link');
      assert.is(await symlink(p, 'f', '/data/ln'), -EEXIST);
      assert.is(await symlink(p, 'f', '/data/f'), -EEXIST);
      assert.is(await symlink(p, '', '/data/empty'), -ENOENT, 'an empty target');
      assert.is(await symlink(p, 'nowhere', '/data/dangling'), 0);
      assert.is(await readFile(p, '/data/dangling'), -ENOENT);
      assert.is(await symlink(p, 'loop', '/data/loop'), 0);
      assert.is(await readFile(p, '/data/loop'), -ELOOP);
      // Out of the grant: the target is kept as written; following it is refused (the os kernel's
      // walk answers EACCES; in the virtual kernel's tree /etc/passwd simply does not exist).
      assert.is(await symlink(p, '../../../../../../etc/passwd', '/data/out'), 0);
      assert.is(await readlink(p, '/data/out'), '../../../../../../etc/passwd');
      assert.is(await readFile(p, '/data/out'), k.host ? -EACCES : -ENOENT);
      assert.is(await symlink(p, '/etc/passwd', '/data/abs'), 0);
      assert.is(await readFile(p, '/data/abs'), k.host ? -EACCES : -ENOENT);
      assert.is(await symlink(p, 'g', '/ro/ln'), -EROFS, 'a read-only grant');
      assert.is(await symlink(p, 'x', '/ro/g'), -EEXIST, 'a taken name wins over the read-only grant');
      if (k.host) assert.is(readlinkSync(join(base, 'data/ln')), 'f', 'a real symlink on the host');
    } finally {
      await h.close();
    }
  });

  test(`readlinkat (${k.name}): the target's bytes, cut to the buffer; EINVAL for what is not a link`, async () => {
    const { h, p } = setup(k.make);
    try {
      assert.is(await symlink(p, 'f', '/data/ln'), 0);
      assert.is(await readlink(p, '/data/ln'), 'f');
      assert.is(await symlink(p, 'a/long/target', '/data/long'), 0);
      assert.is(await readlink(p, '/data/long', 6), 'a/long', 'truncated, no NUL');
      assert.is(await readlink(p, '/data/f'), -EINVAL, 'a regular file');
      assert.is(await readlink(p, '/data'), -EINVAL, 'a directory');
      assert.is(await readlink(p, '/data/missing'), -ENOENT);
      const buf = p.alloc(8);
      assert.is(await sys(p, SYS_readlinkat, AT_FDCWD, p.cstr('/data/ln'), buf, 0), -EINVAL, 'bufsiz 0');
    } finally {
      await h.close();
    }
  });

  test(`linkat (${k.name}): another name for a file, inside one grant; symlinks followed only when asked`, async () => {
    const { h, p, base } = setup(k.make);
    try {
      const link = (from: string, to: string, flags = 0) => sys(p, SYS_linkat, AT_FDCWD, p.cstr(from), AT_FDCWD, p.cstr(to), flags);
      assert.is(await link('/data/f', '/data/hard'), 0);
      const a = await stat(p, '/data/f');
      const b = await stat(p, '/data/hard');
      if (typeof a === 'number' || typeof b === 'number') throw new Error('stat failed');
      assert.is(b.ino, a.ino, 'the same file');
      assert.is(a.nlink, 2);
      // Writing through one name is seen through the other.
      const fd = await sys(p, SYS_openat, AT_FDCWD, p.cstr('/data/hard'), O_RDWR, 0);
      const [ptr, len] = p.data('DATA');
      assert.is(await sys(p, SYS_write, fd, ptr, len), 4);
      await sys(p, SYS_close, fd);
      assert.is(await readFile(p, '/data/f'), 'DATA');
      assert.is(await link('/data/f', '/data/hard'), -EEXIST);
      assert.is(await link('/data/missing', '/data/x'), -ENOENT);
      assert.is(await link('/data/sub', '/data/dirlink'), -EPERM, 'a directory cannot be linked');
      // Through a symlink: the link itself by default, its target with AT_SYMLINK_FOLLOW.
      assert.is(await symlink(p, 'f', '/data/ln'), 0);
      assert.is(await link('/data/ln', '/data/ln2'), 0);
      const l2 = await stat(p, '/data/ln2', AT_SYMLINK_NOFOLLOW);
      assert.is(typeof l2 === 'number' ? l2 : l2.mode & S_IFMT, S_IFLNK);
      assert.is(await link('/data/ln', '/data/f3', AT_SYMLINK_FOLLOW), 0);
      const f3 = await stat(p, '/data/f3', AT_SYMLINK_NOFOLLOW);
      assert.is(typeof f3 === 'number' ? f3 : f3.ino, a.ino);
      assert.is(await link('/data/f', '/data/x', 0x1000), -EINVAL, 'an unknown flag');
      // The sandbox: only inside one grant, never into a read-only one.
      assert.is(await link('/data/f', '/ro/f'), -EROFS);
      assert.is(await link('/ro/g', '/ro/g2'), -EROFS);
      if (k.host) {
        assert.is(await link('/data/f', '/other/f'), -EXDEV, 'across grants');
        assert.is(statSync(join(base, "data/f")).nlink, 3, "f, hard and f3 (ln2 names the symlink)");
      }
    } finally {
      await h.close();
    }
  });

  test(`utimensat (${k.name}): times set, kept (UTIME_OMIT) or now (UTIME_NOW), by path or descriptor`, async () => {
    const { h, p, base } = setup(k.make);
    try {
      const set = (path: string | null, t: number, flags = 0, dirfd = AT_FDCWD) => sys(p, SYS_utimensat, dirfd, path === null ? 0 : p.cstr(path), t, flags);
      assert.is(await set('/data/f', times(p, [1_000_000_000, 5], [1_200_000_000, 7])), 0);
      let st = await stat(p, '/data/f');
      if (typeof st === 'number') throw new Error('stat failed');
      assert.is(st.atime.sec, 1_000_000_000);
      assert.is(st.mtime.sec, 1_200_000_000);
      if (!k.host) assert.is(st.mtime.nsec, 7, 'nanoseconds kept (the os kernel goes through Node, which takes seconds as a double)');
      assert.is(await set('/data/f', times(p, [0, UTIME_OMIT], [1_300_000_000, 0])), 0);
      st = (await stat(p, '/data/f')) as Exclude<typeof st, number>;
      assert.is(st.atime.sec, 1_000_000_000, 'UTIME_OMIT keeps it');
      assert.is(st.mtime.sec, 1_300_000_000);
      assert.is(await set('/data/f', times(p, [0, UTIME_NOW], [0, UTIME_OMIT])), 0);
      st = (await stat(p, '/data/f')) as Exclude<typeof st, number>;
      assert.ok(st.atime.sec > 1_300_000_000, 'UTIME_NOW');
      // By descriptor (path 0).
      const fd = await sys(p, SYS_openat, AT_FDCWD, p.cstr('/data/f'), O_RDONLY, 0);
      assert.is(await set(null, times(p, [1_100_000_000, 0], [1_150_000_000, 0]), 0, fd), 0);
      st = (await stat(p, '/data/f')) as Exclude<typeof st, number>;
      assert.is(st.mtime.sec, 1_150_000_000);
      await sys(p, SYS_close, fd);
      // Symlinks: followed unless AT_SYMLINK_NOFOLLOW.
      assert.is(await symlink(p, 'f', '/data/ln'), 0);
      assert.is(await set('/data/ln', times(p, [0, UTIME_OMIT], [1_400_000_000, 0])), 0);
      st = (await stat(p, '/data/f')) as Exclude<typeof st, number>;
      assert.is(st.mtime.sec, 1_400_000_000, 'through the link');
      assert.is(await set('/data/ln', times(p, [0, UTIME_OMIT], [1_410_000_000, 0]), AT_SYMLINK_NOFOLLOW), 0);
      st = (await stat(p, '/data/f')) as Exclude<typeof st, number>;
      assert.is(st.mtime.sec, 1_400_000_000, 'the link itself, not its target');
      // Errors.
      assert.is(await set('/data/f', times(p, [0, 1_000_000_000], [0, 0])), -EINVAL, 'nanoseconds out of range');
      assert.is(await set('/data/missing', 0), -ENOENT);
      assert.is(await set('/ro/g', 0), -EROFS, 'a read-only grant');
      const ro = await sys(p, SYS_openat, AT_FDCWD, p.cstr('/ro/g'), O_RDONLY, 0);
      assert.is(await set(null, 0, 0, ro), -EROFS, 'a descriptor in a read-only grant');
      if (k.host) assert.is(Math.floor(statSync(join(base, 'data/f')).mtimeMs / 1000), 1_400_000_000);
    } finally {
      await h.close();
    }
  });
}

test.run();
