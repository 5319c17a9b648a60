/**
 * The virtual network's own behaviour, which the shared sockets suite (kernel-sockets.test.ts, on
 * every kernel) does not pin down: one port namespace for every guest of a VM (conflicts, the
 * wildcard, other loopback addresses, ephemeral ports from 32768), its 256 KiB socket buffer and
 * default sizes, a connect that waits on a full backlog, and exact outcomes at the moment a call
 * returns (no network in between: every step settles within the call).
 */
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  AT_FDCWD,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EBADF,
  EACCES,
  ECONNREFUSED,
  ECONNRESET,
  EFAULT,
  EINPROGRESS,
  EINVAL,
  EISCONN,
  ENETUNREACH,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTSOCK,
  EPIPE,
  EPROTONOSUPPORT,
  ESPIPE,
  F_GETFL,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  O_APPEND,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  S_IFSOCK,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_fcntl,
  SYS_fstat,
  SYS_getpeername,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_lseek,
  SYS_openat,
  SYS_pipe2,
  SYS_read,
  SYS_recvfrom,
  SYS_sendfile,
  SYS_sendto,
  SYS_setsockopt,
  SYS_shutdown,
  SYS_socket,
  SYS_write,
  TCP_NODELAY,
  EF_NOWAIT,
} from '../host/abi/v1.js';
import { SOCKET_BUFFER, VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
import { getsockopt as getopt, setsockopt as setopt, socket } from './helpers/kernel-calls.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, PendingCall, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<VirtualProcess>;
const fx = new Fixtures<VirtualProcess>({ close: false });

function setup(files: Record<string, string> = {}) {
  const h = fx.harness(new VirtualKernel({ kind: 'virtual', files }));
  return { h, a: h.spawn({ name: 'server' }), b: h.spawn({ name: 'client' }) };
}

const test = fx.guard(uvuTest);

const bind = (p: P, fd: number, port: number, addr = '127.0.0.1') => now(p.sys(SYS_bind, fd, p.sockaddr(port, addr), 16));
const connect = (p: P, fd: number, port: number, addr = '127.0.0.1') => p.sys(SYS_connect, fd, p.sockaddr(port, addr), 16);

function listener(p: P, port: number, backlog = 16, addr = '0.0.0.0'): number {
  const fd = socket(p);
  assert.is(bind(p, fd, port, addr), 0);
  assert.is(now(p.sys(SYS_listen, fd, backlog)), 0);
  return fd;
}

function accept(p: P, fd: number, flags = 0): number {
  return now(p.sys(SYS_accept4, fd, 0, 0, flags));
}

/** A connected pair: `server` in process a, `client` in process b. */
function connection(a: P, b: P, port = 8080) {
  const lfd = listener(a, port);
  const client = socket(b);
  assert.is(now(connect(b, client, port)), 0);
  const server = accept(a, lfd);
  assert.ok(server >= 0);
  return { lfd, server, client };
}

function send(p: P, fd: number, data: string | Uint8Array, flags = 0): number | PendingCall {
  const [ptr, len] = p.data(data);
  return flags ? p.sys(SYS_sendto, fd, ptr, len, flags, 0, 0) : p.sys(SYS_write, fd, ptr, len);
}

function recv(p: P, fd: number, max = 4096, flags = 0): string | number {
  const buf = p.alloc(max);
  const n = now(p.sys(SYS_recvfrom, fd, buf, max, flags, 0, 0));
  return n <= 0 ? n : p.string(buf, n);
}

function name(p: P, sysno: number, fd: number, room = 16) {
  const addr = p.alloc(16);
  const len = p.int(room);
  const r = now(p.sys(sysno, fd, addr, len));
  return { r, len: p.i32(len), ...p.readSockaddr(addr) };
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + 5) & 0xff;
  return b;
}

test('bind: addresses, ports, conflicts and SO_REUSEADDR', () => {
  const { a, b } = setup({ '/file': '' });
  const s1 = socket(a);
  assert.is(bind(a, s1, 8080), 0);
  assert.equal(name(a, SYS_getsockname, s1), { r: 0, len: 16, family: AF_INET, port: 8080, addr: '127.0.0.1' });
  assert.is(bind(a, s1, 8081), -EINVAL, 'already bound');
  assert.is(bind(b, socket(b), 8080), -EADDRINUSE, 'another guest, same namespace');
  assert.is(bind(b, socket(b), 8080, '0.0.0.0'), -EADDRINUSE, 'the wildcard overlaps');
  assert.is(bind(b, socket(b), 8080, '127.0.0.2'), 0, 'another loopback address does not');
  assert.is(bind(a, socket(a), 80, '10.0.0.1'), -EADDRNOTAVAIL);
  assert.is(bind(a, socket(a), 80, '127.255.0.9'), 0, 'all of 127.0.0.0/8 is local');
  const s = socket(a);
  assert.is(now(a.sys(SYS_bind, s, a.sockaddr(1), 8)), -EINVAL, 'short address');
  assert.is(now(a.sys(SYS_bind, s, a.sockaddr(1), 200)), -EINVAL, 'longer than sockaddr_storage');
  assert.is(now(a.sys(SYS_bind, s, a.sockaddr(1, '127.0.0.1', AF_INET6), 16)), -EAFNOSUPPORT);
  assert.is(now(a.sys(SYS_bind, s, a.sockaddr(9000, '0.0.0.0', AF_UNSPEC), 16)), 0, 'AF_UNSPEC with INADDR_ANY');
  assert.is(now(a.sys(SYS_bind, socket(a), 0x7fff_fff0, 16)), -EFAULT);
  assert.is(now(a.sys(SYS_bind, 99, a.sockaddr(1), 16)), -EBADF);
  const file = now(a.sys(SYS_openat, AT_FDCWD, a.cstr('/file'), O_RDONLY, 0));
  assert.is(now(a.sys(SYS_bind, file, a.sockaddr(1), 16)), -ENOTSOCK);
  // Port 0: ephemeral ports in order from 32768.
  const e1 = socket(a);
  const e2 = socket(a);
  assert.is(bind(a, e1, 0), 0);
  assert.is(bind(a, e2, 0), 0);
  assert.is(name(a, SYS_getsockname, e1).port, 32768);
  assert.is(name(a, SYS_getsockname, e2).port, 32769);
  // SO_REUSEADDR: both set, neither listening.
  const r1 = socket(a);
  const r2 = socket(b);
  assert.is(setopt(a, r1, SOL_SOCKET, SO_REUSEADDR, 1), 0);
  assert.is(setopt(b, r2, SOL_SOCKET, SO_REUSEADDR, 1), 0);
  assert.is(bind(a, r1, 7000), 0);
  assert.is(bind(b, r2, 7000), 0);
  assert.is(now(a.sys(SYS_listen, r1, 5)), 0);
  assert.is(now(b.sys(SYS_listen, r2, 5)), -EADDRINUSE, 'only one may listen');
  const r3 = socket(b);
  assert.is(setopt(b, r3, SOL_SOCKET, SO_REUSEADDR, 1), 0);
  assert.is(bind(b, r3, 7000), -EADDRINUSE, 'not next to a listener');
  // Closing frees the port at once (no TIME_WAIT).
  now(a.sys(SYS_close, s1));
  assert.is(bind(b, socket(b), 8080), 0);
});

test('listen without bind takes the wildcard and the first ephemeral port (the shared suite has the rest of listen)', () => {
  const { a } = setup();
  const l = socket(a);
  assert.is(now(a.sys(SYS_listen, l, 5)), 0);
  assert.equal(name(a, SYS_getsockname, l), { r: 0, len: 16, family: AF_INET, port: 32768, addr: '0.0.0.0' });
});

test('accept4: waits for a connection, flags, class, errors', () => {
  const { a, b } = setup();
  const lfd = listener(a, 9000);
  const waiting = parked(a.sysWith({ thread: 0 }, SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC));
  const c = socket(b);
  assert.is(now(connect(b, c, 9000)), 0);
  assert.is(waiting.result, 4);
  assert.is(waiting.cancel(), false, 'cancel after completion loses');
  assert.is(waiting.result, 4);
  assert.is(now(a.sys(SYS_fcntl, 4, F_GETFL, 0)), O_RDWR | O_NONBLOCK);
  assert.is(now(a.sys(SYS_accept4, lfd, 0, 0, 0x1)), -EINVAL, 'bad flags');
  assert.is(now(a.sys(SYS_accept4, socket(a), 0, 0, 0)), -EINVAL, 'not listening');
  assert.is(now(a.sys(SYS_accept4, 4, 0, 0, 0)), -EINVAL, 'a connected socket');
  assert.is(now(a.sysWith({ flags: EF_NOWAIT }, SYS_accept4, lfd, 0, 0, 0)), -EAGAIN);
  assert.is(now(a.sys(SYS_accept4, lfd, a.alloc(16), 0x7fff_fff0, 0)), -EFAULT);
  assert.is(now(a.sys(SYS_accept4, lfd, a.alloc(16), a.int(-1), 0)), -EINVAL);
  now(connect(b, socket(b), 9000));
  assert.is(now(a.sys(SYS_accept4, lfd, 0x7fff_fff0, a.int(16), 0)), -EFAULT, 'checked before taking it');
  assert.ok(accept(a, lfd) >= 0, 'the connection is still queued');
});

test('backlog: listen(1) queues two connections (Linux N+1), then connect waits', () => {
  const { a, b } = setup();
  const lfd = listener(a, 7777, 1);
  const c1 = socket(b);
  const c2 = socket(b);
  const c3 = socket(b);
  assert.is(now(connect(b, c1, 7777)), 0);
  assert.is(now(connect(b, c2, 7777)), 0);
  const third = parked(connect(b, c3, 7777));
  const nb = socket(b, SOCK_NONBLOCK);
  assert.is(now(connect(b, nb, 7777)), -EINPROGRESS);
  assert.is(now(connect(b, nb, 7777)), -EALREADY);
  assert.is(recv(b, nb), -EAGAIN, 'nothing to read while connecting');
  const s1 = accept(a, lfd);
  assert.ok(s1 >= 0);
  assert.is(third.result, 0, 'room in the backlog lets the waiting connect finish');
  assert.is(getopt(b, nb, SOL_SOCKET, SO_ERROR), 0);
  accept(a, lfd);
  assert.is(now(connect(b, nb, 7777)), -EISCONN, 'the non-blocking connect completed in the background');
  // Accept order follows connect order.
  assert.is(now(send(b, c3, 'from c3')), 7);
  const s3 = accept(a, lfd);
  assert.is(recv(a, s3), 'from c3');
  const s4 = accept(a, lfd);
  assert.is(now(send(b, nb, 'from nb')), 7);
  assert.is(recv(a, s4), 'from nb');
});

test('a listener closing refuses the connects waiting on its full backlog (the shared suite has the queued ones)', () => {
  const { a, b } = setup();
  const lfd = listener(a, 6000, 0);
  assert.is(now(connect(b, socket(b), 6000)), 0);
  const w = parked(connect(b, socket(b), 6000));
  const nb = socket(b, SOCK_NONBLOCK);
  assert.is(now(connect(b, nb, 6000)), -EINPROGRESS);
  now(a.sys(SYS_close, lfd));
  assert.is(w.result, -ECONNREFUSED);
  assert.is(getopt(b, nb, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
  assert.is(getopt(b, nb, SOL_SOCKET, SO_ERROR), 0, 'SO_ERROR clears');
});

test('after the peer closed: writes fail at once, and the socket still names its peer (CLOSE_WAIT)', () => {
  const { a, b } = setup();
  const { server, client } = connection(a, b, 8081);
  now(a.sys(SYS_close, server));
  assert.is(recv(b, client), 0);
  assert.is(now(send(b, client, 'x')), -EPIPE, 'the peer is gone');
  assert.is(name(b, SYS_getpeername, client).port, 8081, 'still connected to it (CLOSE_WAIT)');
});

test('reset: a write waiting on the full buffer reports what it moved', () => {
  const { a, b } = setup();
  const { server, client } = connection(a, b);
  now(send(a, server, 'unread by the client... '));
  now(send(b, client, 'never read by the server'));
  const waitingWrite = parked(b.sys(SYS_write, client, ...b.data(pattern(SOCKET_BUFFER))));
  assert.is(now(a.sys(SYS_close, server)), 0);
  assert.is(waitingWrite.result, SOCKET_BUFFER - 24, 'the waiting write reports what it moved');
  assert.is(recv(b, client), 'unread by the client... ');
  assert.is(recv(b, client), -ECONNRESET);
});

test('non-blocking writes fill the 256 KiB buffer, then EAGAIN; a blocking one waits', () => {
  const { a, b } = setup();
  const { server, client } = connection(a, b);
  const data = pattern(300_000);
  const [src, n] = b.data(data);
  assert.is(now(b.sys(SYS_sendto, client, src, n, MSG_DONTWAIT, 0, 0)), SOCKET_BUFFER);
  assert.is(now(b.sys(SYS_sendto, client, src, 1, MSG_DONTWAIT, 0, 0)), -EAGAIN);
  assert.is(now(b.sysWith({ flags: EF_NOWAIT }, SYS_write, client, src, 1)), -EAGAIN);
  const out = a.alloc(n);
  assert.is(now(a.sys(SYS_read, server, out, 1000)), 1000);
  assert.is(now(b.sys(SYS_sendto, client, src + SOCKET_BUFFER, n - SOCKET_BUFFER, MSG_DONTWAIT, 0, 0)), 1000);
  // A blocking write completes only when everything is buffered.
  const rest = n - SOCKET_BUFFER - 1000;
  const w = parked(b.sys(SYS_write, client, src + SOCKET_BUFFER + 1000, rest));
  let got = 1000;
  const readMore = () => (got += now(a.sys(SYS_read, server, out + got, Math.min(64 * 1024, n - got))));
  while (!w.done) readMore();
  assert.is(w.result, rest);
  while (got < n) readMore();
  assert.equal(a.bytes(out, n), data);
});

test('socket buffer sizes: the virtual network\'s defaults and Linux\'s maximum (the shared suite has the other options)', () => {
  const { a } = setup();
  const s = socket(a);
  assert.is(getopt(a, s, SOL_SOCKET, SO_SNDBUF), 16384);
  assert.is(getopt(a, s, SOL_SOCKET, SO_RCVBUF), 131072);
  assert.is(setopt(a, s, SOL_SOCKET, SO_RCVBUF, -1), 0);
  assert.is(getopt(a, s, SOL_SOCKET, SO_RCVBUF), 425984, 'the maximum');
});

test('sendfile waits like a write when the socket is full', () => {
  const big = String.fromCharCode(...pattern(1000)).repeat(300);
  const { a, b } = setup({ '/big': big });
  const { server, client } = connection(a, b);
  const file = now(a.sys(SYS_openat, AT_FDCWD, a.cstr('/big'), O_RDONLY, 0));
  const size = new TextEncoder().encode(big).length;
  const sf = parked(a.sys(SYS_sendfile, server, file, 0, size));
  const out = b.alloc(size);
  let got = 0;
  const readMore = () => (got += now(b.sys(SYS_read, client, out + got, Math.min(100_000, size - got))));
  while (!sf.done) readMore();
  assert.is(sf.result, size);
  while (got < size) readMore();
  assert.equal(b.bytes(out, size), new TextEncoder().encode(big));
  // Non-blocking: what fits.
  const nbFile = now(a.sys(SYS_openat, AT_FDCWD, a.cstr('/big'), O_RDONLY, 0));
  assert.is(now(a.sysWith({ flags: EF_NOWAIT }, SYS_sendfile, server, nbFile, 0, size)), SOCKET_BUFFER);
  assert.is(now(a.sysWith({ flags: EF_NOWAIT }, SYS_sendfile, server, nbFile, 0, size)), -EAGAIN);
  assert.is(now(a.sys(SYS_lseek, nbFile, 0, 0, 1)), SOCKET_BUFFER);
});

test.run();
