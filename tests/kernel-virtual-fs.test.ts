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

test('create, write, seek, read back, and stat a file', () => {
  const { p } = setup();
  const fd = open(p, '/hello.txt', O_CREAT | O_RDWR, 0o666);
  assert.is(fd, 3);
  assert.is(put(p, fd, 'hello, world'), 12);
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_SET)), 0);
  assert.is(get(p, fd), 'hello, world');
  assert.is(get(p, fd), '', 'end of file reads 0');
  const st = fstat(p, fd);
  assert.is(st.mode, S_IFREG | 0o644, 'mode 0666 under umask 022');
  assert.is(st.size, 12);
  assert.is(st.nlink, 1);
  assert.is(st.blksize, 4096);
  assert.is(st.blocks, 8);
  assert.ok(st.ino > 0);
  assert.is(st.mtime.sec, DEFAULT_EPOCH_MS / 1000, 'virtual times start at the epoch option');
  assert.equal(stat(p, '/hello.txt'), st, 'newfstatat agrees with fstat');
  assert.is(now(p.sys(SYS_close, fd)), 0);
  assert.is(now(p.sys(SYS_close, fd)), -EBADF);
});

test('openat failures follow Linux', () => {
  const { p } = setup({ files: { '/f': 'data', '/d/inner': 'x' } });
  assert.is(open(p, '/missing', O_RDONLY), -ENOENT);
  assert.is(open(p, '/nodir/file', O_CREAT | O_WRONLY), -ENOENT);
  assert.is(open(p, '', O_RDONLY), -ENOENT, 'empty path');
  assert.is(open(p, '/f/x', O_RDONLY), -ENOTDIR, 'a file used as a directory');
  assert.is(open(p, '/f/', O_RDONLY), -ENOTDIR, 'trailing slash on a file');
  assert.is(open(p, '/f', O_CREAT | O_EXCL | O_WRONLY), -EEXIST);
  assert.is(open(p, '/d', O_WRONLY), -EISDIR);
  assert.is(open(p, '/d', O_RDWR), -EISDIR);
  assert.is(open(p, '/d', O_RDONLY | O_TRUNC), -EISDIR);
  assert.is(open(p, '/d', O_CREAT | O_RDONLY), -EISDIR);
  assert.is(open(p, '/new/', O_CREAT | O_WRONLY), -EISDIR);
  assert.is(open(p, '/f', O_RDONLY | O_DIRECTORY), -ENOTDIR);
  assert.is(open(p, '/x', O_CREAT | O_DIRECTORY), -EINVAL);
  assert.is(open(p, '/' + 'a'.repeat(256), O_CREAT | O_WRONLY), -ENAMETOOLONG);
  assert.ok(open(p, '/' + 'a'.repeat(255), O_CREAT | O_WRONLY) >= 0, '255 bytes is fine');
  assert.is(open(p, '/' + 'b/'.repeat(2048), O_RDONLY), -ENAMETOOLONG, 'longer than PATH_MAX');
  assert.is(now(p.sys(SYS_openat, AT_FDCWD, 0x7fff_fff0, O_RDONLY, 0)), -EFAULT);
  assert.is(now(p.sys(SYS_openat, 77, p.cstr('rel'), O_RDONLY, 0)), -EBADF, 'bad dirfd with a relative path');
  const file = open(p, '/f', O_RDONLY);
  assert.is(now(p.sys(SYS_openat, file, p.cstr('rel'), O_RDONLY, 0)), -ENOTDIR, 'dirfd is not a directory');
  assert.ok(now(p.sys(SYS_openat, 77, p.cstr('/f'), O_RDONLY, 0)) >= 0, 'an absolute path ignores dirfd');
  assert.ok(open(p, '/d', O_RDONLY | O_DIRECTORY) >= 0);
});

test('access modes are enforced on the descriptor', () => {
  const { p } = setup({ files: { '/f': 'abc' } });
  const ro = open(p, '/f', O_RDONLY);
  const wo = open(p, '/f', O_WRONLY);
  assert.is(put(p, ro, 'x'), -EBADF);
  assert.is(get(p, wo), -EBADF);
  const [ptr] = p.data('zz');
  assert.is(now(p.sys(SYS_pwrite64, ro, ptr, 2, 0, 0)), -EBADF);
  assert.is(now(p.sys(SYS_pread64, wo, ptr, 2, 0, 0)), -EBADF);
  assert.is(now(p.sys(SYS_ftruncate, ro, 0, 0)), -EINVAL, 'ftruncate needs a writable descriptor');
  assert.is(get(p, ro), 'abc');
});

test('O_TRUNC, O_APPEND and F_SETFL', () => {
  const { p } = setup({ files: { '/log': 'first\n' } });
  const a = open(p, '/log', O_WRONLY | O_APPEND);
  assert.is(now(p.sys(SYS_fcntl, a, F_GETFL, 0)), O_WRONLY | O_APPEND);
  assert.is(put(p, a, 'second\n'), 7);
  const [ptr] = p.data('THIRD\n');
  assert.is(now(p.sys(SYS_pwrite64, a, ptr, 6, 0, 0)), 6, 'pwrite on O_APPEND appends (Linux)');
  const r = open(p, '/log', O_RDONLY);
  assert.is(get(p, r), 'first\nsecond\nTHIRD\n');
  const w = open(p, '/log', O_RDWR);
  assert.is(now(p.sys(SYS_fcntl, w, F_SETFL, O_APPEND)), 0);
  assert.is(now(p.sys(SYS_fcntl, w, F_GETFL, 0)), O_RDWR | O_APPEND);
  assert.is(put(p, w, '4\n'), 2);
  assert.is(stat(p, '/log').size, 21);
  const t = open(p, '/log', O_WRONLY | O_TRUNC);
  assert.is(fstat(p, t).size, 0);
  assert.is(now(p.sys(SYS_lseek, r, 0, 0, SEEK_SET)), 0);
  assert.is(get(p, r), '');
});

test('relative paths, dirfd, "." and ".."', () => {
  const { p } = setup();
  assert.is(mkdir(p, '/a'), 0);
  assert.is(mkdir(p, 'a/b'), 0, 'relative to the working directory "/"');
  const dfd = open(p, '/a', O_RDONLY | O_DIRECTORY);
  const f = open(p, 'b/file', O_CREAT | O_WRONLY, 0o600, dfd);
  assert.is(put(p, f, 'deep'), 4);
  assert.is(stat(p, '/a/./b/../b/file').size, 4);
  assert.is(stat(p, '/../../a/b/file').size, 4, '".." at "/" stays at "/"');
  assert.is(stat(p, '../a/b/file', 0, dfd).size, 4);
  assert.is(stat(p, 'b//file', 0, dfd).mode, S_IFREG | 0o600);
  const buf = p.statBuf();
  assert.is(now(p.sys(SYS_newfstatat, AT_FDCWD, p.cstr('/nope/../a'), buf, 0)), -ENOENT, '".." of a missing name');
  assert.is(now(p.sys(SYS_newfstatat, AT_FDCWD, p.cstr('/a/b/file/..'), buf, 0)), -ENOTDIR);
});

test('pread64 and pwrite64 use their offset and leave the file offset alone', () => {
  const { p } = setup();
  const fd = open(p, '/f', O_CREAT | O_RDWR);
  assert.is(put(p, fd, '0123456789'), 10);
  const buf = p.alloc(16);
  assert.is(now(p.sys(SYS_pread64, fd, buf, 4, 3, 0)), 4);
  assert.is(p.string(buf, 4), '3456');
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_CUR)), 10);
  assert.is(now(p.sys(SYS_pread64, fd, buf, 4, 100, 0)), 0, 'past the end');
  assert.is(now(p.sys(SYS_pread64, fd, buf, 4, -1, -1)), -EINVAL);
  const [x] = p.data('XY');
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, 14, 0)), 2, 'a write past the end leaves a hole');
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, -5, -1)), -EINVAL);
  assert.is(now(p.sys(SYS_pread64, fd, buf, 16, 0, 0)), 16);
  assert.equal([...p.bytes(buf, 16)], [...new TextEncoder().encode('0123456789'), 0, 0, 0, 0, 88, 89]);
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_CUR)), 10);
  // An offset beyond the largest file is EFBIG; a huge one takes two slots.
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, 0, 2)), -EFBIG);
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, MAX_FILE_SIZE, 0)), -EFBIG);
  assert.is(now(p.sys(SYS_pwrite64, fd, x, 2, MAX_FILE_SIZE - 1, 0)), 1, 'a short write up to the limit');
});

test('lseek: whence, bounds, 64-bit results, ESPIPE', () => {
  const { p } = setup({ files: { '/f': 'abcdef' } });
  const fd = open(p, '/f', O_RDWR);
  assert.is(now(p.sys(SYS_lseek, fd, 2, 0, SEEK_SET)), 2);
  assert.is(now(p.sys(SYS_lseek, fd, 1, 0, SEEK_CUR)), 3);
  assert.is(now(p.sys(SYS_lseek, fd, -1, -1, SEEK_END)), 5, 'offset -1 as (lo, hi)');
  assert.is(get(p, fd), 'f');
  assert.is(now(p.sys(SYS_lseek, fd, -10, -1, SEEK_CUR)), -EINVAL, 'negative result');
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, 5)), -EINVAL, 'bad whence (3 and 4 are SEEK_DATA and SEEK_HOLE)');
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_CUR)), 6, 'a failed seek keeps the offset');
  assert.is(now(p.sys(SYS_lseek, fd, 0, 3, SEEK_SET)), 3 * 2 ** 32, 'beyond 2^31 as a plain number');
  assert.is(now(p.sys(SYS_lseek, fd, 5, 0, SEEK_CUR)), 3 * 2 ** 32 + 5);
  assert.is(get(p, fd), '', 'reading past the end');
  const fds = p.alloc(8);
  assert.is(now(p.sys(SYS_pipe2, fds, 0)), 0);
  assert.is(now(p.sys(SYS_lseek, p.i32(fds), 0, 0, SEEK_SET)), -ESPIPE);
  assert.is(now(p.sys(SYS_lseek, 1, 0, 0, SEEK_SET)), -ESPIPE, 'standard streams are not seekable');
  assert.is(now(p.sys(SYS_lseek, 42, 0, 0, SEEK_SET)), -EBADF);
  const dir = open(p, '/', O_RDONLY);
  assert.is(now(p.sys(SYS_lseek, dir, 0, 0, SEEK_END)), -EINVAL);
  assert.is(now(p.sys(SYS_lseek, dir, 0, 0, SEEK_SET)), 0);
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

test('getdents64: dot entries, types, cookies that continue, 8-byte records', () => {
  const { p } = setup();
  assert.is(mkdir(p, '/dir'), 0);
  for (const name of ['one', 'two', 'three', 'four']) assert.ok(open(p, `/dir/${name}`, O_CREAT | O_WRONLY) >= 0);
  assert.is(mkdir(p, '/dir/sub'), 0);
  const fd = open(p, '/dir', O_RDONLY | O_DIRECTORY);
  const buf = p.alloc(4096);
  const n = now(p.sys(SYS_getdents64, fd, buf, 4096));
  const ents = p.readDirents(buf, n);
  assert.equal(ents.map((e) => e.name), ['.', '..', 'one', 'two', 'three', 'four', 'sub']);
  assert.equal(ents.map((e) => e.type), [DT_DIR, DT_DIR, DT_REG, DT_REG, DT_REG, DT_REG, DT_DIR]);
  for (const e of ents) assert.is(e.reclen % 8, 0);
  assert.is(ents[0]!.reclen, 24, '19-byte header + "." + NUL, padded to 24');
  assert.is(ents[0]!.ino, stat(p, '/dir').ino);
  assert.is(ents[1]!.ino, stat(p, '/').ino);
  assert.is(ents[2]!.ino, stat(p, '/dir/one').ino);
  assert.is(now(p.sys(SYS_getdents64, fd, buf, 4096)), 0, 'end of directory');
  // Small buffers: successive calls continue where the last stopped.
  const again = open(p, '/dir', O_RDONLY);
  assert.equal(listDir(p, again, 32), ['.', '..', 'one', 'two', 'three', 'four', 'sub']);
  assert.is(now(p.sys(SYS_getdents64, again, buf, 10)), 0, 'at the end even a tiny buffer reads 0');
  assert.is(now(p.sys(SYS_lseek, again, 0, 0, SEEK_SET)), 0, 'rewinddir');
  assert.is(now(p.sys(SYS_getdents64, again, buf, 20)), -EINVAL, 'no room for one record');
  // Seeking to a d_off cookie resumes after that entry.
  assert.is(now(p.sys(SYS_lseek, again, ents[3]!.off, 0, SEEK_SET)), ents[3]!.off);
  assert.equal(listDir(p, again), ['three', 'four', 'sub']);
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

test('names are bytes: non-UTF-8 names survive a round trip', () => {
  const { p } = setup();
  const name = new Uint8Array([0x2f, 0xff, 0xfe, 0x41, 0]);
  const [ptr] = p.data(name);
  assert.ok(now(p.sys(SYS_openat, AT_FDCWD, ptr, O_CREAT | O_WRONLY, 0o644)) >= 0);
  const fd = open(p, '/', O_RDONLY);
  const buf = p.alloc(256);
  const n = now(p.sys(SYS_getdents64, fd, buf, 256));
  const ents = p.readDirents(buf, n);
  assert.equal([...ents[2]!.nameBytes], [0xff, 0xfe, 0x41]);
});

test('mkdirat errors', () => {
  const { p } = setup({ files: { '/f': '' } });
  assert.is(mkdir(p, '/d', 0o700), 0);
  assert.is(stat(p, '/d').mode, S_IFDIR | 0o700);
  assert.is(mkdir(p, '/d'), -EEXIST);
  assert.is(mkdir(p, '/f'), -EEXIST);
  assert.is(mkdir(p, '/'), -EEXIST);
  assert.is(mkdir(p, '/d/.'), -EEXIST);
  assert.is(mkdir(p, '/x/y'), -ENOENT);
  assert.is(mkdir(p, '/f/y'), -ENOTDIR);
  assert.is(mkdir(p, '/e/'), 0, 'a trailing slash is fine for mkdir');
  assert.is(mkdir(p, ''), -ENOENT);
  assert.is(now(p.sys(SYS_mkdirat, 99, p.cstr('rel'), 0o777)), -EBADF);
});

test('unlinkat and rmdir', () => {
  const { p } = setup({ files: { '/d/f': 'x', '/file': 'contents' } });
  assert.is(unlink(p, '/d'), -EISDIR);
  assert.is(unlink(p, '/file', AT_REMOVEDIR), -ENOTDIR);
  assert.is(unlink(p, '/d', AT_REMOVEDIR), -ENOTEMPTY);
  assert.is(unlink(p, '/missing'), -ENOENT);
  assert.is(unlink(p, '/file', 0x1), -EINVAL, 'unknown flag');
  assert.is(unlink(p, '/d/.', AT_REMOVEDIR), -EINVAL);
  assert.is(unlink(p, '/d/..', AT_REMOVEDIR), -ENOTEMPTY);
  assert.is(unlink(p, '/', AT_REMOVEDIR), -EBUSY);
  assert.is(unlink(p, '/'), -EISDIR);
  assert.is(unlink(p, '/file/'), -ENOTDIR);
  // An open file outlives its name.
  const fd = open(p, '/file', O_RDONLY);
  assert.is(unlink(p, '/file'), 0);
  assert.is(open(p, '/file', O_RDONLY), -ENOENT);
  assert.is(fstat(p, fd).nlink, 0);
  assert.is(get(p, fd), 'contents');
  assert.is(unlink(p, '/d/f'), 0);
  assert.is(unlink(p, '/d', AT_REMOVEDIR), 0);
  assert.is(stat(p, '/').nlink, 2);
});

test('renameat: files, directories, replacement and its errors', () => {
  const { p } = setup({ files: { '/a': 'A', '/b': 'B', '/d1/x': 'X', '/d2/y': 'Y', '/d1/sub/z': 'Z' } });
  assert.is(rename(p, '/a', '/b'), 0, 'replacing a file');
  const fd = open(p, '/b', O_RDONLY);
  assert.is(get(p, fd), 'A');
  assert.is(open(p, '/a', O_RDONLY), -ENOENT);
  assert.is(rename(p, '/b', '/b'), 0, 'renaming onto itself');
  assert.is(rename(p, '/missing', '/c'), -ENOENT);
  assert.is(rename(p, '/b', '/nodir/c'), -ENOENT);
  assert.is(rename(p, '/b', '/d1'), -EISDIR);
  assert.is(rename(p, '/d1', '/b'), -ENOTDIR);
  assert.is(rename(p, '/d1', '/d2'), -ENOTEMPTY);
  assert.is(rename(p, '/d1', '/d1/sub/deeper'), -EINVAL, 'a directory into itself');
  assert.is(rename(p, '/d1', '/d1/sub'), -EINVAL);
  assert.is(rename(p, '/b/', '/c'), -ENOTDIR);
  assert.is(rename(p, '/d1/.', '/q'), -EBUSY);
  assert.is(mkdir(p, '/empty'), 0);
  assert.is(rename(p, '/d1', '/empty'), 0, 'a directory replaces an empty one');
  assert.is(get(p, open(p, '/empty/sub/z', O_RDONLY)), 'Z');
  assert.is(stat(p, '/empty/sub/..').ino, stat(p, '/empty').ino, '".." follows the move');
  const d2 = open(p, '/d2', O_RDONLY);
  const root = open(p, '/', O_RDONLY);
  assert.is(now(p.sys(SYS_renameat, d2, p.cstr('y'), root, p.cstr('empty/y2'))), 0, 'with directory descriptors');
  assert.is(get(p, open(p, '/empty/y2', O_RDONLY)), 'Y');
  assert.is(now(p.sys(SYS_renameat, 99, p.cstr('y'), root, p.cstr('z'))), -EBADF);
  assert.is(stat(p, '/').nlink, 4, 'root holds d2 and empty');
});

test('ftruncate shrinks and grows with zeros', () => {
  const { p } = setup({ files: { '/f': 'abcdef' } });
  const fd = open(p, '/f', O_RDWR);
  assert.is(now(p.sys(SYS_ftruncate, fd, 3, 0)), 0);
  assert.is(get(p, fd), 'abc');
  assert.is(now(p.sys(SYS_ftruncate, fd, 5, 0)), 0);
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_SET)), 0);
  assert.equal([...p.bytes(0, 0)], []);
  const buf = p.alloc(8);
  assert.is(now(p.sys(SYS_read, fd, buf, 8)), 5);
  assert.equal([...p.bytes(buf, 5)], [97, 98, 99, 0, 0]);
  assert.is(now(p.sys(SYS_ftruncate, fd, -1, -1)), -EINVAL);
  assert.is(now(p.sys(SYS_ftruncate, fd, 0, 1)), -EFBIG);
  assert.is(now(p.sys(SYS_ftruncate, 99, 0, 0)), -EBADF);
  assert.is(now(p.sys(SYS_ftruncate, open(p, '/', O_RDONLY), 0, 0)), -EINVAL);
  const fds = p.alloc(8);
  now(p.sys(SYS_pipe2, fds, 0));
  assert.is(now(p.sys(SYS_ftruncate, p.i32(fds + 4), 0, 0)), -EINVAL);
});

test('fsync and fdatasync succeed on files and directories', () => {
  const { p } = setup({ files: { '/f': '' } });
  const fd = open(p, '/f', O_RDONLY);
  assert.is(now(p.sys(SYS_fsync, fd)), 0);
  assert.is(now(p.sys(SYS_fdatasync, fd)), 0);
  assert.is(now(p.sys(SYS_fsync, open(p, '/', O_RDONLY))), 0);
  assert.is(now(p.sys(SYS_fsync, 99)), -EBADF);
  const fds = p.alloc(8);
  now(p.sys(SYS_pipe2, fds, 0));
  assert.is(now(p.sys(SYS_fsync, p.i32(fds))), -EINVAL, 'pipes have nothing to sync (Linux: EINVAL)');
});

test('readv and writev gather and scatter; iovcnt and segment checks', () => {
  const { p } = setup();
  const fd = open(p, '/v', O_CREAT | O_RDWR);
  const iov = p.iovecs([p.data('ab'), p.data(''), p.data('cde')]);
  assert.is(now(p.sys(SYS_writev, fd, iov, 3)), 5);
  assert.is(now(p.sys(SYS_lseek, fd, 0, 0, SEEK_SET)), 0);
  const b1 = p.alloc(1);
  const b2 = p.alloc(3);
  const b3 = p.alloc(8);
  const riov = p.iovecs([
    [b1, 1],
    [b2, 3],
    [b3, 8],
  ]);
  assert.is(now(p.sys(SYS_readv, fd, riov, 3)), 5);
  assert.is(p.string(b1, 1) + p.string(b2, 3) + p.string(b3, 1), 'abcde');
  assert.is(now(p.sys(SYS_readv, fd, riov, 0)), 0);
  assert.is(now(p.sys(SYS_readv, fd, riov, -1)), -EINVAL);
  assert.is(now(p.sys(SYS_writev, fd, riov, 1025)), -EINVAL);
  assert.is(now(p.sys(SYS_writev, fd, 0x7fff_fff0, 2)), -EFAULT, 'the iovec array itself');
  const bad = p.iovecs([
    [b1, 1],
    [0x7fff_fff0, 4],
  ]);
  assert.is(now(p.sys(SYS_writev, fd, bad, 2)), -EFAULT, 'a bad segment');
  assert.is(fstat(p, fd).size, 5, 'nothing was written');
});

test('EMFILE: openat respects maxFds and creates nothing', () => {
  const { p } = setup({}, { limits: { maxFds: 4 } });
  assert.is(open(p, '/a', O_CREAT | O_WRONLY), 3);
  assert.is(open(p, '/b', O_CREAT | O_WRONLY), -EMFILE);
  assert.is(now(p.sys(SYS_newfstatat, AT_FDCWD, p.cstr('/b'), p.statBuf(), 0)), -ENOENT);
  assert.is(now(p.sys(SYS_close, 3)), 0);
  assert.is(open(p, '/b', O_CREAT | O_WRONLY), 3);
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
