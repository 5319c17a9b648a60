/**
 * The virtual kernel's own file system, which the shared files suite (kernel-files.test.ts, on every
 * kernel) does not pin down: files made from options.files and copied from grants at attach, its
 * umask and virtual times, its largest file, its root directory, and how a listing orders entries
 * added while it is read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  DT_DIR,
  DT_REG,
  EBADF,
  EBUSY,
  EEXIST,
  EFAULT,
  EFBIG,
  EINVAL,
  EISDIR,
  EMFILE,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  EROFS,
  ESPIPE,
  F_GETFL,
  F_SETFL,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  SYS_close,
  SYS_fcntl,
  SYS_fdatasync,
  SYS_fstat,
  SYS_fsync,
  SYS_ftruncate,
  SYS_getdents64,
  SYS_lseek,
  SYS_mkdirat,
  SYS_newfstatat,
  SYS_openat,
  SYS_pipe2,
  SYS_pread64,
  SYS_pwrite64,
  SYS_read,
  SYS_readv,
  SYS_renameat,
  SYS_unlinkat,
  SYS_write,
  SYS_writev,
} from '../host/abi/v1.js';
import { SysError } from '../host/errors.js';
import type { VirtualKernelOptions } from '../host/kernel/virtual/options.js';
import { DEFAULT_EPOCH_MS, MAX_FILE_SIZE, VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, type SpawnOptions, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<VirtualProcess>;
const fx = new Fixtures<VirtualProcess>({ close: false });

function setup(options: Partial<VirtualKernelOptions> = {}, spawn: SpawnOptions = {}) {
  const kernel = new VirtualKernel({ kind: 'virtual', ...options });
  const h = fx.harness(kernel);
  return { kernel, h, p: h.spawn(spawn) };
}

const test = fx.guard(uvuTest);

function open(p: P, file: string, flags: number, mode = 0o666, dirfd = AT_FDCWD): number {
  return now(p.sys(SYS_openat, dirfd, p.cstr(file), flags, mode));
}

function put(p: P, fd: number, text: string): number {
  const [ptr, len] = p.data(text);
  return now(p.sys(SYS_write, fd, ptr, len));
}

function get(p: P, fd: number, max = 4096): string | number {
  const buf = p.alloc(max);
  const n = now(p.sys(SYS_read, fd, buf, max));
  return n < 0 ? n : p.string(buf, n);
}

function stat(p: P, file: string, flags = 0, dirfd = AT_FDCWD) {
  const buf = p.statBuf();
  const r = now(p.sys(SYS_newfstatat, dirfd, p.cstr(file), buf, flags));
  if (r !== 0) throw new Error(`stat ${file}: ${r}`);
  return p.readStat(buf);
}

function fstat(p: P, fd: number) {
  const buf = p.statBuf();
  assert.is(now(p.sys(SYS_fstat, fd, buf)), 0);
  return p.readStat(buf);
}

function listDir(p: P, fd: number, bufSize = 4096): string[] {
  const names: string[] = [];
  for (;;) {
    const buf = p.alloc(bufSize);
    const n = now(p.sys(SYS_getdents64, fd, buf, bufSize));
    assert.ok(n >= 0, `getdents64 returned ${n}`);
    if (n === 0) return names;
    for (const d of p.readDirents(buf, n)) names.push(d.name);
  }
}

const mkdir = (p: P, dir: string, mode = 0o777) => now(p.sys(SYS_mkdirat, AT_FDCWD, p.cstr(dir), mode));
const unlink = (p: P, file: string, flags = 0) => now(p.sys(SYS_unlinkat, AT_FDCWD, p.cstr(file), flags));
const rename = (p: P, from: string, to: string) =>
  now(p.sys(SYS_renameat, AT_FDCWD, p.cstr(from), AT_FDCWD, p.cstr(to)));

test('a new file: mode under the umask 022, times from the epoch option', () => {
  const { p } = setup();
  const fd = open(p, '/hello.txt', O_CREAT | O_RDWR, 0o666);
  assert.is(put(p, fd, 'hello, world'), 12);
  const st = fstat(p, fd);
  assert.is(st.mode, S_IFREG | 0o644, 'mode 0666 under umask 022');
  assert.is(st.blksize, 4096);
  assert.is(st.blocks, 8);
  assert.is(st.mtime.sec, DEFAULT_EPOCH_MS / 1000, 'virtual times start at the epoch option');
});

test('the largest file: an offset beyond it is EFBIG, a write up to it is short', () => {
  const { p } = setup();
  const fd = open(p, '/f', O_CREAT | O_RDWR);
  const [x] = p.data('XY');
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, 0, 2)), -EFBIG, 'a huge offset takes two slots');
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, MAX_FILE_SIZE, 0)), -EFBIG);
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, MAX_FILE_SIZE - 1, 0)), 1, 'a short write up to the limit');
  assert.is(now(p.sys(SYS_ftruncate, fd, 0, 1)), -EFBIG);
});

test('fstat and newfstatat flags', () => {
  const { p } = setup({ files: { '/etc/conf': 'k=v\n' } });
  const dir = open(p, '/etc', O_RDONLY | O_DIRECTORY);
  const buf = p.statBuf();
  assert.is(now(p.sys(SYS_newfstatat, dir, p.cstr(''), buf, AT_EMPTY_PATH)), 0);
  assert.is(p.readStat(buf).mode & S_IFMT, S_IFDIR);
  assert.is(now(p.sys(SYS_newfstatat, dir, p.cstr(''), buf, 0)), -ENOENT);
  assert.is(now(p.sys(SYS_newfstatat, AT_FDCWD, p.cstr(''), buf, AT_EMPTY_PATH)), 0);
  assert.is(p.readStat(buf).ino, stat(p, '/').ino, 'AT_FDCWD with an empty path is the working directory');
  assert.is(now(p.sys(SYS_newfstatat, 50, p.cstr(''), buf, AT_EMPTY_PATH)), -EBADF);
  assert.is(stat(p, 'conf', AT_SYMLINK_NOFOLLOW, dir).size, 4);
  assert.is(now(p.sys(SYS_newfstatat, dir, p.cstr('conf'), buf, 0x8000)), -EINVAL, 'unknown flag');
  assert.is(now(p.sys(SYS_newfstatat, dir, p.cstr('conf'), 0x7fff_fff0, 0)), -EFAULT);
  assert.is(now(p.sys(SYS_fstat, dir, 0x7fff_fff0)), -EFAULT);
  assert.is(now(p.sys(SYS_fstat, 99, buf)), -EBADF);
  // Directory link counts: 2 plus one per subdirectory.
  assert.is(stat(p, '/').nlink, 3);
  assert.is(mkdir(p, '/etc/sub'), 0);
  assert.is(stat(p, '/etc').nlink, 3);
  assert.is(stat(p, '/etc').mode, S_IFDIR | 0o755);
  assert.is(stat(p, '/etc/sub').mode, S_IFDIR | 0o755, 'mkdir mode 0777 under umask 022');
});

test('getdents64 while the directory changes, on a removed directory, and on non-directories', () => {
  const { p } = setup({ files: { '/d/a': '', '/d/b': '', '/f': '' } });
  const fd = open(p, '/d', O_RDONLY);
  const buf = p.alloc(64);
  const n = now(p.sys(SYS_getdents64, fd, buf, 64));
  assert.equal(p.readDirents(buf, n).map((e) => e.name), ['.', '..']);
  assert.is(unlink(p, '/d/a'), 0);
  assert.ok(open(p, '/d/c', O_CREAT | O_WRONLY) >= 0);
  assert.equal(listDir(p, fd), ['b', 'c'], 'removed entries vanish, new ones come last');
  assert.is(now(p.sys(SYS_getdents64, open(p, '/f', O_RDONLY), buf, 64)), -ENOTDIR);
  assert.is(now(p.sys(SYS_getdents64, 99, buf, 64)), -EBADF);
  assert.is(now(p.sys(SYS_getdents64, fd, 0x7fff_fff0, 64)), -EFAULT);
  assert.is(mkdir(p, '/gone'), 0);
  const gone = open(p, '/gone', O_RDONLY);
  assert.is(unlink(p, '/gone', AT_REMOVEDIR), 0);
  assert.equal(listDir(p, gone), [], 'a removed directory lists nothing');
  assert.is(open(p, 'x', O_CREAT | O_WRONLY, 0o666, gone), -ENOENT, 'nothing can be created in it');
  assert.is(get(p, fd), -EISDIR, 'read on a directory');
});

test('the root directory: not removable, and its link count follows its subdirectories', () => {
  const { p } = setup({ files: { '/d/f': 'x' } });
  assert.is(unlink(p, '/', AT_REMOVEDIR), -EBUSY);
  assert.is(unlink(p, '/'), -EISDIR);
  assert.is(unlink(p, '/d/..', AT_REMOVEDIR), -ENOTEMPTY);
  assert.is(stat(p, '/').nlink, 3);
  assert.is(unlink(p, '/d/f'), 0);
  assert.is(unlink(p, '/d', AT_REMOVEDIR), 0);
  assert.is(stat(p, '/').nlink, 2);
});

test('options.files seeds files and their parent directories', () => {
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const { p } = setup({ files: { '/srv/www/index.html': '<h1>hi</h1>', '/bin/blob': bytes, 'rel/x': 'r' } });
  assert.is(get(p, open(p, '/srv/www/index.html', O_RDONLY)), '<h1>hi</h1>');
  const buf = p.alloc(4);
  assert.is(now(p.sys(SYS_read, open(p, '/bin/blob', O_RDONLY), buf, 4)), 4);
  assert.equal([...p.bytes(buf, 4)], [0, 1, 2, 255]);
  assert.is(stat(p, '/srv').mode, S_IFDIR | 0o755);
  assert.is(get(p, open(p, '/rel/x', O_RDONLY)), 'r', 'relative seed paths start at "/"');
});

test('grants copy a host directory once; later guests share it', () => {
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'flexvm-grant-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'flexvm-outside-'));
  try {
    fs.writeFileSync(path.join(host, 'index.html'), 'hello from the host');
    fs.mkdirSync(path.join(host, 'sub'));
    fs.writeFileSync(path.join(host, 'sub', 'b.txt'), 'B');
    fs.writeFileSync(path.join(outside, 'secret'), 'no');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(host, 'escape'));
    fs.symlinkSync(path.join(host, 'sub', 'b.txt'), path.join(host, 'inside-link'));
    fs.symlinkSync(outside, path.join(host, 'dirlink'));
    const logs: string[] = [];
    const kernel = new VirtualKernel({ kind: 'virtual' }, { thread: 0, threadCount: 1, log: (m) => logs.push(m) });
    const h = fx.harness(kernel);
    const grants = [{ hostPath: host, guestPath: '/srv/www' }];
    const p1 = h.spawn({ grants });
    assert.is(get(p1, open(p1, '/srv/www/index.html', O_RDONLY)), 'hello from the host');
    assert.is(get(p1, open(p1, '/srv/www/sub/b.txt', O_RDONLY)), 'B');
    assert.is(get(p1, open(p1, '/srv/www/inside-link', O_RDONLY)), 'B', 'a symlink to a file inside is copied');
    assert.is(open(p1, '/srv/www/escape', O_RDONLY), -ENOENT, 'a symlink out of the grant is not followed');
    assert.is(open(p1, '/srv/www/dirlink', O_RDONLY), -ENOENT, 'directory symlinks are never followed');
    assert.ok(logs.some((l) => l.includes('escape')));
    // The guest's changes stay in the virtual tree, and a second guest with the same grant sees them.
    assert.is(put(p1, open(p1, '/srv/www/new.txt', O_CREAT | O_WRONLY), 'guest-made'), 10);
    fs.writeFileSync(path.join(host, 'late.txt'), 'too late');
    const p2 = h.spawn({ grants });
    assert.is(get(p2, open(p2, '/srv/www/new.txt', O_RDONLY)), 'guest-made');
    assert.is(open(p2, '/srv/www/late.txt', O_RDONLY), -ENOENT, 'copied once, at the first attach');
    assert.is(fs.existsSync(path.join(host, 'new.txt')), false, 'nothing is written back to the host');
    const listing = listDir(p2, open(p2, '/srv/www', O_RDONLY));
    assert.equal(listing, ['.', '..', 'index.html', 'inside-link', 'sub', 'new.txt'], 'sorted by name, then guest-made');
    assert.throws(
      () => h.spawn({ grants: [{ hostPath: path.join(host, 'nope'), guestPath: '/other' }] }),
      (e: unknown) => e instanceof SysError && e.errno === ENOENT,
    );
  } finally {
    fs.rmSync(host, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('a read-only grant (:ro): reading works; writing, creating, truncating, removing and renaming are EROFS', () => {
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'flexvm-grant-ro-'));
  try {
    fs.writeFileSync(path.join(host, 'a.txt'), 'read me');
    fs.mkdirSync(path.join(host, 'sub'));
    fs.writeFileSync(path.join(host, 'sub', 'b.txt'), 'B');
    const { h } = setup();
    const p = h.spawn({ grants: [{ hostPath: host, guestPath: '/ro', readOnly: true }, { hostPath: host, guestPath: '/rw' }] });
    assert.is(get(p, open(p, '/ro/a.txt', O_RDONLY)), 'read me');
    assert.is(get(p, open(p, '/ro/sub/b.txt', O_RDONLY)), 'B');
    assert.is(open(p, '/ro/a.txt', O_WRONLY), -EROFS);
    assert.is(open(p, '/ro/a.txt', O_RDWR), -EROFS);
    assert.is(open(p, '/ro/a.txt', O_RDONLY | O_TRUNC), -EROFS);
    assert.ok(open(p, '/ro/a.txt', O_RDONLY | O_CREAT) >= 0, 'O_CREAT of an existing file for reading is fine');
    assert.is(open(p, '/ro/new.txt', O_CREAT | O_WRONLY), -EROFS);
    assert.is(open(p, '/ro/sub/new.txt', O_CREAT | O_RDONLY), -EROFS, 'in a subdirectory too');
    assert.is(open(p, '/ro/a.txt', O_CREAT | O_EXCL | O_WRONLY), -EEXIST, 'the name is looked up first');
    assert.is(mkdir(p, '/ro/d'), -EROFS);
    assert.is(mkdir(p, '/ro/sub'), -EEXIST);
    assert.is(unlink(p, '/ro/a.txt'), -EROFS);
    assert.is(unlink(p, '/ro/missing.txt'), -ENOENT);
    assert.is(unlink(p, '/ro/sub', AT_REMOVEDIR), -EROFS);
    assert.is(unlink(p, '/ro', AT_REMOVEDIR), -EROFS, 'nor the grant itself');
    assert.is(rename(p, '/ro/a.txt', '/ro/b.txt'), -EROFS);
    assert.is(rename(p, '/ro/a.txt', '/rw/a2.txt'), -EROFS, 'moving out removes it from the read-only tree');
    assert.is(rename(p, '/rw/a.txt', '/ro/x.txt'), -EROFS, 'moving in creates in it');
    const fd = open(p, '/ro/a.txt', O_RDONLY);
    assert.is(now(p.sys(SYS_ftruncate, fd, 0, 0)), -EINVAL, 'no writable descriptor can exist');
    assert.is(get(p, open(p, '/ro/a.txt', O_RDONLY)), 'read me', 'unchanged');
    // The same host directory granted read-write elsewhere is a separate, writable copy.
    assert.is(put(p, open(p, '/rw/a.txt', O_WRONLY | O_TRUNC), 'changed'), 7);
    assert.is(get(p, open(p, '/ro/a.txt', O_RDONLY)), 'read me');
  } finally {
    fs.rmSync(host, { recursive: true, force: true });
  }
});

test.run();
