import * as fs from 'node:fs';
import * as path from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  EACCES,
  EBADF,
  EFAULT,
  ELOOP,
  ENAMETOOLONG,
  EEXIST,
  EINVAL,
  ENOENT,
  EROFS,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  SYS_close,
  SYS_fstat,
  SYS_ftruncate,
  SYS_getdents64,
  SYS_lseek,
  SYS_mkdirat,
  SYS_newfstatat,
  SYS_openat,
  SYS_read,
  SYS_renameat,
  SYS_unlinkat,
  SYS_write,
} from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, settled, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });
let logs: string[] = [];

const test = fx.guard(uvuTest);

/**
 * root/granted (granted at /data), root/other (granted at /www), and things outside any grant:
 * root/secret.txt, root/outside/. Symlinks inside /data lead in and out.
 */
function setup() {
  const root = fx.tempDir('flexvm-os-sandbox-');
  const g = path.join(root, 'granted');
  fs.mkdirSync(path.join(g, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(root, 'outside'));
  fs.mkdirSync(path.join(root, 'other'));
  fs.writeFileSync(path.join(g, 'file.txt'), 'granted');
  fs.writeFileSync(path.join(g, 'sub', 'inner.txt'), 'inner');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'secret');
  fs.writeFileSync(path.join(root, 'outside', 'o.txt'), 'outside');
  fs.writeFileSync(path.join(root, 'other', 'w.txt'), 'www');
  fs.symlinkSync('file.txt', path.join(g, 'link-in'));
  fs.symlinkSync('sub', path.join(g, 'dirlink-in'));
  fs.symlinkSync('../secret.txt', path.join(g, 'link-out'));
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(g, 'link-out-abs'));
  fs.symlinkSync('../outside', path.join(g, 'dirlink-out'));
  fs.symlinkSync('../nowhere.txt', path.join(g, 'dangling'));
  fs.symlinkSync('../other/w.txt', path.join(g, 'link-other'));
  logs = [];
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, log: (m) => logs.push(m) });
  const h = fx.harness(k);
  const p = h.spawn({
    grants: [
      { hostPath: g, guestPath: '/data' },
      { hostPath: path.join(root, 'other'), guestPath: '/www' },
      { hostPath: path.join(root, 'missing'), guestPath: '/gone' },
    ],
  });
  return { root, g, h, p };
}

const sys = (p: P, nr: number, ...a: number[]) => settled(p.sys(nr, ...a));
const open = (p: P, file: string, flags = O_RDONLY, dirfd = AT_FDCWD) => sys(p, SYS_openat, dirfd, p.cstr(file), flags, 0o644);
async function statMode(p: P, file: string, flags = 0): Promise<number> {
  const buf = p.statBuf();
  const r = await sys(p, SYS_newfstatat, AT_FDCWD, p.cstr(file), buf, flags);
  return r < 0 ? r : p.readStat(buf).mode;
}
async function readAll(p: P, fd: number): Promise<string> {
  const buf = p.alloc(256);
  const n = await sys(p, SYS_read, fd, buf, 256);
  return n < 0 ? `error ${n}` : p.string(buf, n);
}

/** The files outside the grants are as they were. */
function untouched(root: string): void {
  assert.is(fs.readFileSync(path.join(root, 'secret.txt'), 'utf8'), 'secret');
  assert.equal(fs.readdirSync(path.join(root, 'outside')), ['o.txt']);
  assert.is(fs.readFileSync(path.join(root, 'outside', 'o.txt'), 'utf8'), 'outside');
  assert.not.ok(fs.existsSync(path.join(root, 'nowhere.txt')));
  assert.equal(fs.readdirSync(root).sort(), ['granted', 'other', 'outside', 'secret.txt']);
}

test('".." cannot climb out of a grant: ENOENT', async () => {
  const { p, root } = setup();
  assert.is(await open(p, '/data/../secret.txt'), -ENOENT);
  assert.is(await open(p, '/data/sub/../../secret.txt'), -ENOENT);
  assert.is(await open(p, '/data/../../../../../etc/passwd'), -ENOENT);
  assert.is(await open(p, '/../data/../granted/file.txt'), -ENOENT, 'host names mean nothing to the guest');
  const d = await open(p, '/data', O_RDONLY | O_DIRECTORY);
  assert.is(await open(p, '../secret.txt', O_RDONLY, d), -ENOENT, 'relative to a dirfd at a grant root');
  assert.is(await open(p, '../../secret.txt', O_RDONLY, d), -ENOENT);
  assert.is(await statMode(p, '/data/../secret.txt'), -ENOENT);
  assert.is(await sys(p, SYS_mkdirat, AT_FDCWD, p.cstr('/data/../evil'), 0o755), -EACCES, 'no creation above the grants');
  assert.is(await open(p, '/data/../evil.txt', O_CREAT | O_WRONLY), -EACCES);
  assert.ok((await open(p, '/data/sub/../file.txt')) >= 0, '".." inside a grant is fine');
  untouched(root);
});

test('absolute paths outside every grant: ENOENT', async () => {
  const { p, root, g } = setup();
  assert.is(await open(p, '/etc/passwd'), -ENOENT);
  assert.is(await open(p, path.join(root, 'secret.txt')), -ENOENT, 'a host path is not a guest path');
  assert.is(await open(p, path.join(g, 'file.txt')), -ENOENT);
  assert.is(await statMode(p, '/tmp'), -ENOENT);
  assert.is(await sys(p, SYS_unlinkat, AT_FDCWD, p.cstr('/secret.txt'), 0), -ENOENT);
  assert.is(await sys(p, SYS_renameat, AT_FDCWD, p.cstr('/secret.txt'), AT_FDCWD, p.cstr('/data/stolen')), -ENOENT);
  assert.is(await open(p, '/gone/x'), -ENOENT, 'a grant whose host directory is missing is ignored');
  assert.ok(logs.some((m) => m.includes('ignored')));
  untouched(root);
});

test('symlinks that resolve out of a grant: EACCES, for every kind of call', async () => {
  const { p, root } = setup();
  assert.is(await open(p, '/data/link-out'), -EACCES);
  assert.is(await open(p, '/data/link-out-abs'), -EACCES);
  assert.is(await open(p, '/data/link-out', O_WRONLY | O_TRUNC), -EACCES);
  assert.is(await open(p, '/data/link-out', O_CREAT | O_RDWR), -EACCES);
  assert.is(await open(p, '/data/dangling', O_CREAT | O_WRONLY), -EACCES, 'creating through a dangling symlink');
  assert.is(await open(p, '/data/dirlink-out/o.txt'), -EACCES, 'a directory symlink on the way');
  assert.is(await open(p, '/data/dirlink-out', O_RDONLY | O_DIRECTORY), -EACCES);
  assert.is(await open(p, '/data/dirlink-out/new.txt', O_CREAT | O_WRONLY), -EACCES);
  assert.is(await open(p, '/data/link-other'), -EACCES, 'into another grant through a symlink');
  assert.is(await statMode(p, '/data/link-out'), -EACCES);
  assert.is(await statMode(p, '/data/dirlink-out/o.txt'), -EACCES);
  assert.is((await statMode(p, '/data/link-out', AT_SYMLINK_NOFOLLOW)) & S_IFMT, S_IFLNK, 'the link itself is inside');
  assert.is(await sys(p, SYS_mkdirat, AT_FDCWD, p.cstr('/data/dirlink-out/made'), 0o755), -EACCES);
  assert.is(await sys(p, SYS_unlinkat, AT_FDCWD, p.cstr('/data/dirlink-out/o.txt'), 0), -EACCES);
  assert.is(await sys(p, SYS_unlinkat, AT_FDCWD, p.cstr('/data/dirlink-out/o.txt'), AT_REMOVEDIR), -EACCES);
  assert.is(await sys(p, SYS_renameat, AT_FDCWD, p.cstr('/data/file.txt'), AT_FDCWD, p.cstr('/data/dirlink-out/f')), -EACCES);
  assert.is(await sys(p, SYS_renameat, AT_FDCWD, p.cstr('/data/dirlink-out/o.txt'), AT_FDCWD, p.cstr('/data/o.txt')), -EACCES);
  assert.is(await sys(p, SYS_openat, AT_FDCWD, p.cstr('/data/dirlink-out'), O_RDONLY, 0), -EACCES);
  untouched(root);
  // Symlinks that stay inside work, and O_NOFOLLOW refuses them.
  const fd = await open(p, '/data/link-in');
  assert.is(await readAll(p, fd), 'granted');
  assert.is(await open(p, '/data/dirlink-in/inner.txt').then((f) => readAll(p, f)), 'inner');
  assert.is((await statMode(p, '/data/link-in')) & S_IFMT, S_IFREG);
  assert.is(await open(p, '/data/link-in', O_RDONLY | O_NOFOLLOW), -ELOOP);
  // Removing an escaping link removes the link, never its target.
  assert.is(await sys(p, SYS_unlinkat, AT_FDCWD, p.cstr('/data/link-out'), 0), 0);
  untouched(root);
});

test('a NUL byte ends a path; an unterminated path is ENAMETOOLONG or EFAULT', async () => {
  const { p, root } = setup();
  const bytes = Buffer.from('/data/file.txt\0/../../secret.txt\0');
  const [ptr] = p.data(new Uint8Array(bytes));
  const fd = await sys(p, SYS_openat, AT_FDCWD, ptr, O_RDONLY, 0);
  assert.is(await readAll(p, fd), 'granted', 'the path stops at the first NUL');
  const long = p.alloc(5000, 1);
  p.memory.fill(long, 5000, 0x61);
  p.memory.setU8(long, 0x2f);
  assert.is(await sys(p, SYS_openat, AT_FDCWD, long, O_RDONLY, 0), -ENAMETOOLONG, 'no NUL within PATH_MAX');
  const end = p.memory.size;
  p.memory.fill(end - 16, 16, 0x61);
  assert.is(await sys(p, SYS_openat, AT_FDCWD, end - 16, O_RDONLY, 0), -EFAULT, 'runs off the end of memory');
  assert.is(await sys(p, SYS_newfstatat, AT_FDCWD, end - 16, p.statBuf(), 0), -EFAULT);
  assert.is(await sys(p, SYS_mkdirat, AT_FDCWD, long, 0o755), -ENAMETOOLONG);
  assert.is(await sys(p, SYS_unlinkat, AT_FDCWD, long, 0), -ENAMETOOLONG);
  assert.is(await sys(p, SYS_renameat, AT_FDCWD, p.cstr('/data/file.txt'), AT_FDCWD, long), -ENAMETOOLONG);
  untouched(root);
});

test('descriptors the process does not own: EBADF', async () => {
  const { h, p } = setup();
  const q = h.spawn({ name: 'other guest', grants: p.spec.grants.slice() });
  const fd = await open(p, '/data/file.txt');
  assert.ok(fd >= 3);
  for (const bad of [fd, 77, 1 << 20, -1, -100]) {
    assert.is(await sys(q, SYS_read, bad, q.alloc(8), 8), -EBADF, `read ${bad}`);
    assert.is(await sys(q, SYS_write, bad, q.alloc(8), 8), -EBADF, `write ${bad}`);
    assert.is(await sys(q, SYS_fstat, bad, q.statBuf()), -EBADF, `fstat ${bad}`);
    assert.is(await sys(q, SYS_lseek, bad, 0, 0, 0), -EBADF, `lseek ${bad}`);
    assert.is(await sys(q, SYS_getdents64, bad, q.alloc(64), 64), -EBADF, `getdents ${bad}`);
    assert.is(now(q.sys(SYS_close, bad)), -EBADF, `close ${bad}`);
  }
  assert.is(await sys(q, SYS_openat, fd, q.cstr('x'), O_RDONLY, 0), -EBADF, 'dirfd of another process');
  assert.is(await readAll(p, fd), 'granted', 'the owner still has it');
  assert.is(now(p.sys(SYS_close, fd)), 0);
  assert.is(await sys(p, SYS_read, fd, p.alloc(8), 8), -EBADF, 'closed');
});

test('a read-only grant (:ro): reading works; writing, creating, truncating, removing and renaming are EROFS', async () => {
  const root = fx.tempDir('flexvm-os-ro-');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'a.txt'), 'read me');
  fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'B');
  fs.symlinkSync('a.txt', path.join(root, 'link'));
  const rw = fx.tempDir('flexvm-os-rw-');
  fs.writeFileSync(path.join(rw, 'w.txt'), 'writable');
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, log: () => {} });
  const p = fx.harness(k).spawn({ grants: [{ hostPath: root, guestPath: '/ro', readOnly: true }, { hostPath: rw, guestPath: '/rw' }] });
  const mkdir = (d: string) => sys(p, SYS_mkdirat, AT_FDCWD, p.cstr(d), 0o755);
  const unlink = (f: string, flags = 0) => sys(p, SYS_unlinkat, AT_FDCWD, p.cstr(f), flags);
  const rename = (a: string, b: string) => sys(p, SYS_renameat, AT_FDCWD, p.cstr(a), AT_FDCWD, p.cstr(b));
  assert.is(await readAll(p, await open(p, '/ro/a.txt')), 'read me');
  assert.is(await readAll(p, await open(p, '/ro/sub/b.txt')), 'B');
  assert.is(await readAll(p, await open(p, '/ro/link')), 'read me', 'a symlink inside is followed for reading');
  assert.is(await open(p, '/ro/a.txt', O_WRONLY), -EROFS);
  assert.is(await open(p, '/ro/a.txt', O_RDWR), -EROFS);
  assert.is(await open(p, '/ro/link', O_WRONLY), -EROFS, 'through a symlink too');
  assert.is(await open(p, '/ro/a.txt', O_RDONLY | O_TRUNC), -EROFS);
  assert.ok((await open(p, '/ro/a.txt', O_RDONLY | O_CREAT)) >= 0, 'O_CREAT of an existing file for reading is fine');
  assert.is(await open(p, '/ro/new.txt', O_CREAT | O_WRONLY), -EROFS);
  assert.is(await open(p, '/ro/sub/new.txt', O_CREAT | O_RDONLY), -EROFS);
  assert.is(await open(p, '/ro/missing.txt'), -ENOENT);
  assert.is(await mkdir('/ro/d'), -EROFS);
  assert.is(await mkdir('/ro/sub'), -EEXIST, 'the name is looked up first');
  assert.is(await unlink('/ro/a.txt'), -EROFS);
  assert.is(await unlink('/ro/missing.txt'), -ENOENT);
  assert.is(await unlink('/ro/sub', AT_REMOVEDIR), -EROFS);
  assert.is(await rename('/ro/a.txt', '/ro/b.txt'), -EROFS);
  assert.is(await rename('/ro/a.txt', '/rw/a.txt'), -EROFS, 'moving out of it');
  assert.is(await rename('/rw/w.txt', '/ro/w.txt'), -EROFS, 'moving into it');
  const fd = await open(p, '/ro/a.txt');
  assert.is(await sys(p, SYS_ftruncate, fd, 0, 0), -EINVAL, 'no writable descriptor can exist');
  assert.equal(fs.readdirSync(root).sort(), ['a.txt', 'link', 'sub']);
  assert.is(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'read me');
  assert.equal(fs.readdirSync(path.join(root, 'sub')), ['b.txt']);
  assert.is(fs.readFileSync(path.join(rw, 'w.txt'), 'utf8'), 'writable');
  const w = await open(p, '/rw/w.txt', O_WRONLY | O_TRUNC);
  assert.ok(w >= 0, 'the read-write grant beside it still writes');
});

test.run();
