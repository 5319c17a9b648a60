import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AT_FDCWD,
  EADDRINUSE,
  EAGAIN,
  EF_NOWAIT,
  EINPROGRESS,
  EPOLLIN,
  EPOLLOUT,
  EPOLL_CTL_ADD,
  O_RDONLY,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_openat,
  SYS_read,
  SYS_sendfile,
  SYS_socket,
} from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, settled, until, type TestProcess } from './helpers/kernel-harness.js';

/**
 * Colocated mode (epoll mode: the kernel runs on the guest's own thread). Calls made through the
 * `syscall` import carry EF_NOWAIT and must answer inside syscall(): file calls, listen, a sendfile
 * of what fits. Only calls that wait for readiness or time may park (the `yield` import).
 */
type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });
let logs: string[] = [];

const test = fx.guard(uvuTest);

function setup() {
  const dir = fx.tempDir('flexvm-os-colocated-');
  logs = [];
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated: true, log: (m) => logs.push(m) });
  const h = fx.harness(k);
  return { dir, k, h, p: h.spawn({ grants: [{ hostPath: dir, guestPath: '/srv' }] }) };
}

/** A call through the `syscall` import: EF_NOWAIT, and it must answer at once. */
const sync = (p: P, nr: number, ...a: number[]) => now(p.sysWith({ flags: EF_NOWAIT }, nr, ...a));

function listen(p: P): { fd: number; port: number } {
  const fd = sync(p, SYS_socket, AF_INET, SOCK_STREAM, 0);
  assert.is(sync(p, SYS_bind, fd, p.sockaddr(0), 16), 0);
  assert.is(sync(p, SYS_listen, fd, 16), 0, 'listen answers at once');
  const addr = p.alloc(16);
  assert.is(sync(p, SYS_getsockname, fd, addr, p.int(16)), 0);
  return { fd, port: p.readSockaddr(addr).port };
}

test('kernel properties: asynchronous completions (sockets, timers), synchronous files here and on socketless syscall threads', () => {
  const { k } = setup();
  assert.ok(k.completesOnEventLoop);
  assert.ok(k.fsd.synchronous);
  assert.ok(new OsKernel().fsd.synchronous, 'a syscall thread without sockets (fileIo auto)');
  assert.not.ok(new OsKernel({ kind: 'os', fileIo: 'threadpool' }).fsd.synchronous);
});

test('listen answers at once, failures too (the errno is inferred, the real one logged if it differs)', async () => {
  const { p } = setup();
  const { port } = listen(p);
  const again = sync(p, SYS_socket, AF_INET, SOCK_STREAM, 0);
  assert.is(sync(p, SYS_bind, again, p.sockaddr(port), 16), 0);
  assert.is(sync(p, SYS_listen, again, 16), -EADDRINUSE);
  await new Promise((r) => setImmediate(r));
  assert.equal(logs.filter((m) => m.includes('listen')), [], 'the inference was right');
});

test('an epoll server loop: wait for readiness, then non-blocking accept, read and sendfile', async () => {
  const { p, dir } = setup();
  const body = Buffer.alloc(1 << 20, 0x41);
  fs.writeFileSync(path.join(dir, 'index.html'), body);
  const { fd: l, port } = listen(p);
  const ep = sync(p, SYS_epoll_create1, 0);
  assert.is(sync(p, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, l, p.epollEvent(EPOLLIN, l)), 0);
  assert.is(sync(p, SYS_accept4, l, 0, 0, 0), -EAGAIN);
  const events = p.alloc(12 * 4);
  const waiting = parked(p.sys(SYS_epoll_wait, ep, events, 4, -1));
  const c = net.connect({ port, host: '127.0.0.1' });
  c.on('error', () => {});
  fx.peer(c);
  c.pause();
  let received = 0;
  c.on('data', (d) => (received += d.length));
  assert.is(await settled(waiting), 1);
  const s = sync(p, SYS_accept4, l, 0, 0, 0);
  assert.ok(s >= 0);
  assert.is(sync(p, SYS_read, s, p.alloc(16), 16), -EAGAIN);
  assert.is(sync(p, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s, p.epollEvent(EPOLLIN, s)), 0);
  const readable = parked(p.sys(SYS_epoll_wait, ep, events, 4, -1));
  c.write('GET /');
  assert.is(await settled(readable), 1);
  const req = p.alloc(16);
  assert.is(sync(p, SYS_read, s, req, 16), 5);
  assert.is(p.string(req, 5), 'GET /');
  const file = sync(p, SYS_openat, AT_FDCWD, p.cstr('/srv/index.html'), O_RDONLY, 0);
  assert.ok(file >= 0, 'a file opens at once');
  // The client does not read: sendfile moves what fits, at once, then EAGAIN; nothing waits.
  const off = p.alloc(8);
  let sent = 0;
  for (let i = 0; i < 10_000 && sent < body.length; i++) {
    const r = sync(p, SYS_sendfile, s, file, off, body.length - sent);
    if (r === -EAGAIN) break;
    assert.ok(r > 0, `sendfile returned ${r}`);
    sent += r;
    await new Promise((r2) => setImmediate(r2));
  }
  assert.is(p.i64(off), sent);
  c.resume();
  while (sent < body.length) {
    const r = sync(p, SYS_sendfile, s, file, off, body.length - sent);
    if (r > 0) sent += r;
    else await new Promise((r2) => setTimeout(r2, 1));
  }
  await until(() => received === body.length, 10000);
  assert.is(sync(p, SYS_close, s), 0);
});

test('a non-blocking connect answers EINPROGRESS; SO_ERROR tells the outcome', async () => {
  const { p } = setup();
  const server = net.createServer((s) => s.on('error', () => {}));
  fx.peer(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fd = sync(p, SYS_socket, AF_INET, SOCK_STREAM, 0);
  assert.is(sync(p, SYS_connect, fd, p.sockaddr((server.address() as net.AddressInfo).port), 16), -EINPROGRESS);
  const ep = sync(p, SYS_epoll_create1, 0);
  assert.is(sync(p, SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, p.epollEvent(EPOLLOUT)), 0);
  assert.is(await settled(p.sys(SYS_epoll_wait, ep, p.alloc(12), 1, -1)), 1);
  const val = p.int(-1);
  assert.is(sync(p, SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, val, p.int(4)), 0);
  assert.is(p.i32(val), 0, 'connected');
});

test.run();
