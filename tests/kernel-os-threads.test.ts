import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AT_FDCWD,
  EBADF,
  EMFILE,
  EPERM,
  EPOLLIN,
  EPOLL_CTL_ADD,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  POLLOUT,
  SEEK_CUR,
  SEEK_SET,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_fstat,
  SYS_getsockname,
  SYS_listen,
  SYS_lseek,
  SYS_newfstatat,
  SYS_openat,
  SYS_pipe2,
  SYS_poll,
  SYS_read,
  SYS_renameat,
  SYS_sendfile,
  SYS_socket,
  SYS_write,
} from '../host/abi/v1.js';
import { FileKind, PROCESS_SHARED_BYTES, SharedFileTable } from '../host/kernel/os/file-table.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures, hostFdsUnder } from './helpers/kernel-fixtures.js';
import { now, parked, settled, until, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;

const fx = new Fixtures<OsProcess>({ close: true });

const test = fx.guard(uvuTest);

/** `threads` kernel instances (one per simulated syscall thread) serving one process. */
function setup(threads: number, options: { maxFds?: number; stdin?: string } = {}) {
  const dir = fx.tempDir('flexvm-os-threads-');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'abcdefghij');
  fs.writeFileSync(path.join(dir, 'b.txt'), 'BBBB');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'c.txt'), 'ccc');
  // The threadpool: these tests watch file calls in flight on one thread while another acts.
  const kernels = Array.from({ length: threads }, (_, t) => new OsKernel({ kind: 'os', fileIo: 'threadpool' }, { thread: t, threadCount: threads, log: () => {} }));
  const h = fx.harness(kernels);
  const p = h.spawn({
    grants: [{ hostPath: dir, guestPath: '/data' }],
    fdClasses: threads,
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    ...(options.maxFds ? { limits: { maxFds: options.maxFds } } : {}),
  });
  return { dir, h, p };
}

const on = (p: P, t: number, nr: number, ...a: number[]) => settled(p.on(t, nr, ...a));
const open = (p: P, t: number, file: string, flags = O_RDONLY, dirfd = AT_FDCWD) => on(p, t, SYS_openat, dirfd, p.cstr(file), flags, 0o644);
async function read(p: P, t: number, fd: number, max = 64): Promise<string | number> {
  const buf = p.alloc(max);
  const n = await on(p, t, SYS_read, fd, buf, max);
  return n < 0 ? n : p.string(buf, n);
}

for (const n of [1, 2, 4]) {
  test(`fdClasses ${n}: every descriptor follows fd % classes === thread, lowest free first`, async () => {
    const { p } = setup(n);
    for (let t = 0; t < n; t++) {
      const a = await open(p, t, '/data/a.txt');
      const s = now(p.on(t, SYS_socket, AF_INET, SOCK_STREAM, 0));
      const fds = p.alloc(8);
      assert.is(now(p.on(t, SYS_pipe2, fds, 0)), 0);
      const ep = now(p.on(t, SYS_epoll_create1, 0));
      const all = [a, s, p.i32(fds), p.i32(fds + 4), ep];
      for (const fd of all) assert.is(fd % n, t, `fd ${fd} on thread ${t}`);
      // Lowest free: 0, 1, 2 are the standard streams, present in every class.
      const expected: number[] = [];
      for (let fd = 3; expected.length < all.length; fd++) if (fd % n === t) expected.push(fd);
      assert.equal(all, expected);
      assert.is(now(p.on(t, SYS_close, all[1]!)), 0);
      assert.is(now(p.on(t, SYS_socket, AF_INET, SOCK_STREAM, 0)), all[1], 'a freed number is reused');
    }
  });
}

test('standard streams exist on every thread; stdin is one stream', async () => {
  const { p } = setup(2, { stdin: 'hello world' });
  const [o, ol] = p.data('out;');
  assert.is(now(p.on(1, SYS_write, 1, o, ol)), 4);
  assert.is(now(p.on(0, SYS_write, 1, o, ol)), 4);
  assert.is(now(p.on(0, SYS_write, 2, o, ol)), 4);
  assert.is(p.text(1), 'out;out;');
  assert.is(p.text(2), 'out;');
  assert.is(await read(p, 0, 0, 6), 'hello ');
  assert.is(await read(p, 1, 0, 64), 'world', 'the other thread continues where the first stopped');
  assert.is(await read(p, 0, 0, 64), '', 'then end of file everywhere');
});

test('a file opened on thread 0 is used from thread 1: one offset, one description', async () => {
  const { p } = setup(2);
  const fd = await open(p, 0, '/data/a.txt', O_RDWR);
  assert.is(fd % 2, 0);
  assert.is(await read(p, 1, fd, 3), 'abc');
  assert.is(await read(p, 0, fd, 3), 'def', 'the offset is shared');
  assert.is(await on(p, 1, SYS_lseek, fd, 1, 0, SEEK_SET), 1);
  assert.is(await read(p, 0, fd, 2), 'bc');
  const st = p.statBuf();
  assert.is(await on(p, 1, SYS_fstat, fd, st), 0);
  assert.is(p.readStat(st).size, 10);
  const [w, wl] = p.data('XY');
  assert.is(await on(p, 1, SYS_write, fd, w, wl), 2);
  assert.is(await on(p, 0, SYS_lseek, fd, 0, 0, SEEK_CUR), 5);
  assert.is(now(p.on(1, SYS_close, fd)), -EBADF, 'only the owner closes it');
  assert.is(await read(p, 1, fd), 'fghij');
  assert.is(now(p.on(0, SYS_close, fd)), 0);
  assert.is(await read(p, 1, fd), -EBADF, 'closed for every thread');
});

test('a number reused on the owner thread names the new file on every thread', async () => {
  const { p } = setup(2);
  const a = await open(p, 0, '/data/a.txt');
  assert.is(now(p.on(0, SYS_close, a)), 0);
  const b = await open(p, 0, '/data/b.txt');
  assert.is(b, a);
  assert.is(await read(p, 1, b), 'BBBB');
});

test('openat, newfstatat and renameat with a directory descriptor of another class', async () => {
  const { p, dir } = setup(2);
  const d = await open(p, 0, '/data/sub', O_RDONLY | O_DIRECTORY);
  const c = await open(p, 1, 'c.txt', O_RDONLY, d);
  assert.is(c % 2, 1, 'the new descriptor belongs to the thread that opened it');
  assert.is(await read(p, 1, c), 'ccc');
  const st = p.statBuf();
  assert.is(await on(p, 1, SYS_newfstatat, d, p.cstr('c.txt'), st, 0), 0);
  assert.is(p.readStat(st).size, 3);
  const root = await open(p, 1, '/data', O_RDONLY | O_DIRECTORY);
  assert.is(await on(p, 0, SYS_renameat, d, p.cstr('c.txt'), root, p.cstr('moved.txt')), 0);
  assert.is(fs.readFileSync(path.join(dir, 'moved.txt'), 'utf8'), 'ccc');
  assert.ok((await open(p, 1, 'new.txt', O_CREAT | O_RDWR, d)) >= 0);
  assert.ok(fs.existsSync(path.join(dir, 'sub', 'new.txt')));
});

test('sendfile with the file on one thread and the socket on another', async () => {
  const { p, dir } = setup(2);
  const data = Buffer.alloc(200_000, 0x5a);
  data.write('start');
  fs.writeFileSync(path.join(dir, 'big.bin'), data);
  const file = await open(p, 0, '/data/big.bin');
  const l = now(p.on(1, SYS_socket, AF_INET, SOCK_STREAM, 0));
  assert.is(now(p.on(1, SYS_bind, l, p.sockaddr(0), 16)), 0);
  assert.is(now(p.on(1, SYS_listen, l, 4)), 0);
  const addr = p.alloc(16);
  now(p.on(1, SYS_getsockname, l, addr, p.int(16)));
  const c = net.connect({ port: p.readSockaddr(addr).port, host: '127.0.0.1' });
  fx.peer(c);
  const got: Buffer[] = [];
  c.on('data', (b) => got.push(b));
  const s = await on(p, 1, SYS_accept4, l, 0, 0, 0);
  assert.is(s % 2, 1);
  assert.is(await on(p, 1, SYS_sendfile, s, file, 0, data.length), data.length);
  await until(() => got.reduce((k, b) => k + b.length, 0) === data.length);
  assert.ok(Buffer.concat(got).equals(data));
  assert.is(await on(p, 0, SYS_lseek, file, 0, 0, SEEK_CUR), data.length, 'the file offset advanced for everyone');
});

test('epoll and poll see only their own thread: EPERM for another class, files are always ready', async () => {
  const { p } = setup(2);
  const ep = now(p.on(0, SYS_epoll_create1, 0));
  const s1 = now(p.on(1, SYS_socket, AF_INET, SOCK_STREAM, 0));
  const f1 = await open(p, 1, '/data/a.txt');
  assert.is(now(p.on(0, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s1, p.epollEvent(EPOLLIN))), -EPERM);
  assert.is(now(p.on(0, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, f1, p.epollEvent(EPOLLIN))), -EPERM);
  assert.is(now(p.on(0, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, 1001, p.epollEvent(EPOLLIN))), -EPERM, 'not even known to be open');
  assert.is(now(p.on(0, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, 1000, p.epollEvent(EPOLLIN))), -EBADF);
  assert.is(now(p.on(0, SYS_poll, p.pollfds([[s1, POLLIN]]), 1, 0)), -EPERM);
  const pfds = p.pollfds([[f1, POLLIN | POLLOUT]]);
  assert.is(now(p.on(0, SYS_poll, pfds, 1, 0)), 1);
  assert.equal(p.revents(pfds, 1), [POLLIN | POLLOUT]);
  assert.is(now(p.on(1, SYS_poll, p.pollfds([[s1, POLLOUT]]), 1, 0)), 1, 'the owner thread can poll it');
});

test('EMFILE counts the whole process, all threads together', async () => {
  const { p } = setup(2, { maxFds: 7 });
  const got = [await open(p, 0, '/data/a.txt'), await open(p, 1, '/data/a.txt'), await open(p, 0, '/data/b.txt')];
  assert.ok(got.every((fd) => fd >= 3));
  assert.ok(now(p.on(1, SYS_socket, AF_INET, SOCK_STREAM, 0)) >= 3, 'the seventh descriptor');
  assert.is(await open(p, 0, '/data/a.txt'), -EMFILE);
  assert.is(now(p.on(1, SYS_socket, AF_INET, SOCK_STREAM, 0)), -EMFILE);
  assert.is(now(p.on(0, SYS_close, got[0]!)), 0);
  assert.ok((await open(p, 1, '/data/a.txt')) >= 0, 'a descriptor freed on thread 0 makes room on thread 1');
});

test('a file closed by its owner while another thread reads it stays open until that read ends', async () => {
  const { p, dir } = setup(2);
  const fd = await open(p, 0, '/data/a.txt');
  assert.is(hostFdsUnder(dir), 1);
  const buf = p.alloc(16);
  const r = parked(p.on(1, SYS_read, fd, buf, 16));
  assert.is(now(p.on(0, SYS_close, fd)), 0);
  assert.is(await settled(r), 10, 'the read in flight completes');
  assert.is(p.string(buf, 10), 'abcdefghij');
  await until(() => hostFdsUnder(dir) === 0, 2000, 'the host fd is closed after the read');
});

test('detach on every thread closes the process files', async () => {
  const { h, p, dir } = setup(2);
  await open(p, 0, '/data/a.txt');
  await open(p, 1, '/data/b.txt');
  await open(p, 1, '/data', O_RDONLY | O_DIRECTORY);
  assert.is(hostFdsUnder(dir), 2, 'the two files (the directory is the grant root itself)');
  h.detach(p);
  await until(() => hostFdsUnder(dir) === 0, 2000);
});

test('the shared file table: references, reuse, offsets, paths, and a full table', () => {
  const shared = new SharedArrayBuffer(64 * 1024);
  const table = new SharedFileTable(shared);
  const other = new SharedFileTable(shared);
  const s = table.insert(7, 42, FileKind.Dir, O_RDONLY, 1, new Uint8Array(Buffer.from('/a/very/long/path/' + 'x'.repeat(300))));
  assert.ok(s >= 0);
  assert.is(other.lookup(7), s, 'another instance finds it');
  assert.is(Buffer.from(other.path(s)).toString(), '/a/very/long/path/' + 'x'.repeat(300));
  assert.is(other.lookup(8), -1);
  assert.is(table.close(s), -1, 'a reference is still held: the host fd stays open');
  assert.is(other.lookup(7), -1, 'closed: no new references');
  assert.is(other.release(s), 42, 'the last reference closes the host fd');
  // offsets: reservation and settlement
  const f = table.insert(7, 43, FileKind.File, O_RDWR, 0, null);
  assert.is(table.reserve(f, 100), 0);
  assert.is(table.reserve(f, 10), 100, 'a second reader gets the next range');
  table.settle(f, 100, 10, 4);
  assert.is(table.position(f), 104);
  table.settle(f, 0, 100, 50);
  assert.is(table.position(f), 104, 'not given back: someone moved on');
  table.setPosition(f, 2 ** 40 + 5);
  assert.is(other.position(f), 2 ** 40 + 5, '64-bit offsets as two words');
  // fill the table
  let inserted = 0;
  for (let fd = 100; table.insert(fd, fd, FileKind.File, 0, 0, null) >= 0; fd++) inserted++;
  assert.is(inserted, table.slots - 1);
  assert.is(table.insert(99999, 1, FileKind.File, 0, 0, null), -1, 'ENFILE when full');
  assert.ok(new SharedFileTable(new SharedArrayBuffer(PROCESS_SHARED_BYTES)).slots > 8000, "about 8k open files per process");
  // descriptor accounting
  assert.ok(table.reserveDescriptors(2, 3, 5));
  assert.not.ok(table.reserveDescriptors(1, 3, 5));
  table.releaseDescriptors(1);
  assert.ok(table.reserveDescriptors(1, 3, 5));
});

test.run();
