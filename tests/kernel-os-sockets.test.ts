import * as net from 'node:net';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EBADF,
  ECANCELED,
  ECONNREFUSED,
  ECONNRESET,
  EF_NOWAIT,
  EINPROGRESS,
  EINVAL,
  EIO,
  EISCONN,
  EMFILE,
  EOPNOTSUPP,
  ETIMEDOUT,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTSOCK,
  EPIPE,
  EPROTONOSUPPORT,
  ESPIPE,
  F_GETFL,
  F_SETFL,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  O_NONBLOCK,
  O_RDWR,
  SHUT_RD,
  SHUT_WR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
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
  SYS_read,
  SYS_readv,
  SYS_recvfrom,
  SYS_sendto,
  SYS_setsockopt,
  SYS_shutdown,
  SYS_socket,
  SYS_write,
  SYS_writev,
  TCP_NODELAY,
} from '../host/abi/v1.js';
import { DEFAULT_RCVBUF, OsKernel, TcpSocket, type OsKernelOptions, type OsProcess } from '../host/kernel/os/index.js';
import { errnoOf } from '../host/kernel/os/errno.js';
import { getsockopt as getopt, setsockopt as setopt, socket } from './helpers/kernel-calls.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, PendingCall, settled, until, within, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });
let logs: string[] = [];

function setup(options: Partial<OsKernelOptions> & { allowConnect?: readonly string[] } = {}) {
  logs = [];
  const k = new OsKernel({ kind: 'os', ...options }, { thread: 0, threadCount: 1, log: (m) => logs.push(m) });
  const h = fx.harness(k);
  return { k, h, p: h.spawn({ name: 'server' }) };
}

const test = fx.guard(uvuTest);

/** A listening socket on 127.0.0.1 with an ephemeral port. */
function listener(p: P, backlog = 16): { fd: number; port: number } {
  const fd = socket(p);
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0), 16)), 0);
  assert.is(now(p.sys(SYS_listen, fd, backlog)), 0);
  return { fd, port: sockname(p, fd).port };
}

function sockname(p: P, fd: number, call = SYS_getsockname) {
  const addr = p.alloc(16);
  const len = p.int(16);
  assert.is(now(p.sys(call, fd, addr, len)), 0);
  return p.readSockaddr(addr);
}

/** A real client, connected. */
function client(port: number): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      fx.peer(c);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
      // Tests reset connections on purpose: an unhandled 'error' must not end the run.
      c.on('error', () => {});
    }),
    5000,
    'connect',
  );
}

/** Everything a socket receives, and when it ended. */
function collect(s: net.Socket) {
  const chunks: Buffer[] = [];
  const out = { error: null as Error | null, get text() { return Buffer.concat(chunks).toString(); }, get length() { return chunks.reduce((n, c) => n + c.length, 0); }, ended: false };
  s.on('data', (c) => chunks.push(c));
  s.on('end', () => (out.ended = true));
  s.on('error', (e) => (out.error = e));
  return out;
}

async function accept(p: P, fd: number, flags = 0): Promise<number> {
  return settled(p.sys(SYS_accept4, fd, 0, 0, flags));
}

/** A guest server socket connected to a real client. */
async function connection(p: P) {
  const l = listener(p);
  const c = await client(l.port);
  const fd = await accept(p, l.fd);
  assert.ok(fd >= 3, `accept4 returned ${fd}`);
  return { lfd: l.fd, port: l.port, fd, c };
}

function send(p: P, fd: number, text: string | Uint8Array, flags = 0): number | PendingCall {
  const [ptr, len] = p.data(text);
  return p.sysWith({ flags }, SYS_write, fd, ptr, len);
}

async function recv(p: P, fd: number, max = 65536, flags = 0): Promise<string | number> {
  const buf = p.alloc(max);
  const n = await settled(p.sys(SYS_recvfrom, fd, buf, max, flags, 0, 0));
  return n <= 0 ? n : p.string(buf, n);
}

/** The TcpSocket behind a guest descriptor (white-box checks of back-pressure). */
function tcp(p: P, fd: number): TcpSocket {
  const s = p.proc.fds.get(fd)?.value;
  assert.ok(s instanceof TcpSocket);
  return s as TcpSocket;
}

test('socket() refuses other families and types as Linux', () => {
  const { p } = setup();
  assert.is(now(p.sys(SYS_socket, AF_INET6, SOCK_STREAM, 0)), -EAFNOSUPPORT);
  assert.is(now(p.sys(SYS_socket, AF_UNIX, SOCK_STREAM, 0)), -EAFNOSUPPORT);
  assert.is(now(p.sys(SYS_socket, AF_INET, SOCK_DGRAM, 0)), -EPROTONOSUPPORT);
  assert.is(now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 17)), -EPROTONOSUPPORT);
  assert.is(now(p.sys(SYS_socket, AF_INET, SOCK_STREAM | 0x100, 0)), -EINVAL);
  assert.is(now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_TCP)), 3);
  const nb = socket(p, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert.is(now(p.sys(SYS_fcntl, nb, F_GETFL, 0)), O_RDWR | O_NONBLOCK);
  const st = p.statBuf();
  assert.is(now(p.sys(SYS_fstat, nb, st)), 0);
  assert.is(p.readStat(st).mode & 0o170000, S_IFSOCK);
  assert.is(now(p.sys(SYS_lseek, nb, 0, 0, 0)), -ESPIPE);
  assert.is(now(p.sys(SYS_bind, 1, p.sockaddr(0), 16)), -ENOTSOCK);
});

test('listen on an ephemeral loopback port; a real client connects, talks, and reads EOF', async () => {
  const { p } = setup();
  const l = listener(p);
  assert.ok(l.port > 0, 'getsockname reports the ephemeral port');
  assert.is(sockname(p, l.fd).addr, '127.0.0.1');
  assert.is(getopt(p, l.fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  const addr = p.alloc(16);
  const addrlen = p.int(16);
  const pending = p.sys(SYS_accept4, l.fd, addr, addrlen, 0);
  parked(pending);
  const c = await client(l.port);
  const got = collect(c);
  const fd = await settled(pending);
  assert.ok(fd >= 3);
  assert.is(p.readSockaddr(addr).port, c.localPort, 'accept4 fills the peer address');
  assert.is(p.i32(addrlen), 16);
  const peer = sockname(p, fd, SYS_getpeername);
  assert.is(peer.addr, '127.0.0.1');
  assert.is(peer.port, c.localPort);
  assert.is(sockname(p, fd).port, l.port);

  c.write('hello');
  assert.is(await recv(p, fd), 'hello');
  assert.is(await settled(send(p, fd, 'world')), 5);
  await until(() => got.text === 'world');

  c.end();
  assert.is(await recv(p, fd), 0, 'EOF after the client closed');
  assert.is(await recv(p, fd), 0, 'and again');
  assert.is(now(p.sys(SYS_close, fd)), 0);
  await until(() => got.ended, 5000, 'client sees FIN');
});

test('partial reads return what is buffered; MSG_PEEK and MSG_WAITALL', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  c.write('abcdef');
  await until(() => tcp(p, fd).queuedBytes === 6);
  assert.is(await recv(p, fd, 4, MSG_PEEK), 'abcd');
  assert.is(await recv(p, fd, 4), 'abcd');
  assert.is(await recv(p, fd, 100), 'ef', 'a read returns what is there');
  assert.is(await recv(p, fd, 10, MSG_DONTWAIT), -EAGAIN);
  const buf = p.alloc(8);
  const all = parked(p.sys(SYS_recvfrom, fd, buf, 8, MSG_WAITALL, 0, 0));
  c.write('1234');
  await until(() => tcp(p, fd).queuedBytes === 0);
  assert.not.ok(all.done, 'waits for the whole buffer');
  c.write('5678');
  assert.is(await settled(all), 8);
  assert.is(p.string(buf, 8), '12345678');
});

test('readv and writev on a socket', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  const got = collect(c);
  const [a, alen] = p.data('scatter ');
  const [b, blen] = p.data('gather');
  assert.is(await settled(p.sys(SYS_writev, fd, p.iovecs([[a, alen], [b, blen]]), 2)), 14);
  await until(() => got.text === 'scatter gather');
  c.write('0123456789');
  await until(() => tcp(p, fd).queuedBytes === 10);
  const x = p.alloc(4);
  const y = p.alloc(6);
  assert.is(await settled(p.sys(SYS_readv, fd, p.iovecs([[x, 4], [y, 6]]), 2)), 10);
  assert.is(p.string(x, 4) + '|' + p.string(y, 6), '0123|456789');
});

test('a reset from the client reads as ECONNRESET once, then EOF; writes then fail with EPIPE', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  c.write('last words');
  await until(() => tcp(p, fd).queuedBytes === 10);
  c.resetAndDestroy();
  await until(() => tcp(p, fd).pendingError !== 0, 5000, 'reset noticed');
  assert.is(await recv(p, fd), 'last words', 'buffered data first');
  assert.is(await recv(p, fd), -ECONNRESET);
  assert.is(await recv(p, fd), 0);
  assert.is(now(send(p, fd, 'x')), -EPIPE);
});

test('a parked read sees the reset', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  const r = parked(p.sys(SYS_read, fd, p.alloc(16), 16));
  c.resetAndDestroy();
  assert.is(await settled(r), -ECONNRESET);
});

test('writes after the peer closed end in EPIPE; after SHUT_WR at once', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  const got = collect(c);
  assert.is(now(p.sys(SYS_shutdown, fd, SHUT_WR)), 0);
  await until(() => got.ended, 5000, 'FIN');
  assert.is(now(send(p, fd, 'more')), -EPIPE);
  c.write('still readable after SHUT_WR');
  assert.is(await recv(p, fd), 'still readable after SHUT_WR');
  const second = await connection(p);
  c.destroy();
  second.c.destroy();
  let r = 0;
  const [x, xl] = p.data('x'.repeat(1000));
  await until(() => {
    r = now(p.sys(SYS_write, second.fd, x, xl));
    return r < 0;
  }, 5000, 'write fails after the peer closed');
  assert.ok(r === -EPIPE || r === -ECONNRESET, `got ${r}`);
  assert.is(now(send(p, second.fd, 'y')), -EPIPE, 'then EPIPE for good');
});

test('SHUT_RD: buffered data, then EOF; shutdown of an unconnected socket is ENOTCONN', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  c.write('queued');
  await until(() => tcp(p, fd).queuedBytes === 6);
  assert.is(now(p.sys(SYS_shutdown, fd, SHUT_RD)), 0);
  assert.is(await recv(p, fd), 'queued');
  assert.is(await recv(p, fd), 0);
  assert.is(now(p.sys(SYS_shutdown, socket(p), SHUT_WR)), -ENOTCONN);
  assert.is(now(p.sys(SYS_shutdown, fd, 7)), -EINVAL);
});

test('close is graceful after queued data; close with unread data resets the peer', async () => {
  const { p } = setup();
  const a = await connection(p);
  const gotA = collect(a.c);
  const big = 'z'.repeat(200_000);
  assert.is(await settled(send(p, a.fd, big)), big.length);
  assert.is(now(p.sys(SYS_close, a.fd)), 0);
  await until(() => gotA.ended, 5000, 'FIN after data');
  assert.is(gotA.length, big.length, 'every acknowledged byte arrived before the FIN');
  assert.is(gotA.error, null);

  const b = await connection(p);
  const gotB = collect(b.c);
  b.c.write('never read');
  await until(() => tcp(p, b.fd).queuedBytes > 0);
  assert.is(now(p.sys(SYS_close, b.fd)), 0);
  await until(() => gotB.error !== null, 5000, 'reset');
  assert.is((gotB.error as NodeJS.ErrnoException).code, 'ECONNRESET');
});

test('partial writes with EF_NOWAIT into a full buffer, then EAGAIN; readiness returns when the client reads', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  c.pause();
  const s = tcp(p, fd);
  const [chunk, size] = p.data(new Uint8Array(1 << 20).fill(0x61));
  let total = 0;
  let partial = 0;
  let last = 0;
  // The OS buffers absorb megabytes on loopback before flexvm's own bound is reached.
  for (let i = 0; i < 1000; i++) {
    last = now(p.sysWith({ flags: EF_NOWAIT }, SYS_write, fd, chunk, size));
    if (last < 0) break;
    if (last < size) partial++;
    total += last;
    if (i % 8 === 7) await new Promise((r) => setImmediate(r));
  }
  assert.is(last, -EAGAIN);
  assert.ok(partial > 0, 'writes reported what they took');
  assert.ok(s.unsentBytes <= s.sndBuf, `host buffers ${s.unsentBytes} bytes, bound ${s.sndBuf}`);
  assert.is(s.poll() & 4, 0, 'not writable (POLLOUT) while full');
  let received = 0;
  c.on('data', (d: Buffer) => (received += d.length));
  c.resume();
  await until(() => received === total, 10000, 'client drains');
  assert.is(now(send(p, fd, 'more', EF_NOWAIT)), 4);
});

test('back-pressure: a blocking write waits while the client does not read, and completes in full', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  c.pause();
  const s = tcp(p, fd);
  const size = 2 << 20;
  const [ptr] = p.data(new Uint8Array(size).fill(0x62));
  let total = 0;
  let pending: PendingCall | null = null;
  for (let i = 0; i < 100 && pending === null; i++) {
    const w = p.sys(SYS_write, fd, ptr, size);
    if (w instanceof PendingCall) pending = w;
    else {
      assert.is(w, size, 'a blocking write takes everything');
      total += w;
      await new Promise((r) => setImmediate(r));
    }
  }
  assert.ok(pending !== null, 'a write had to wait');
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(pending!.done, 'the write waits for room');
  assert.ok(s.unsentBytes <= s.sndBuf, `host holds ${s.unsentBytes} unsent bytes (bound ${s.sndBuf})`);
  let received = 0;
  c.on('data', (d: Buffer) => (received += d.length));
  c.resume();
  assert.is(await settled(pending!, 10000), size);
  total += size;
  await until(() => received === total, 10000);
});

test('back-pressure: a client that sends without the guest reading is paused at the receive bound', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  const s = tcp(p, fd);
  const chunk = Buffer.alloc(64 * 1024, 0x63);
  let sent = 0;
  // Write until the client's own buffers fill: the server side must stop reading, not buffer it all.
  for (let i = 0; i < 200 && c.writableLength < 1 << 20; i++) {
    c.write(chunk);
    sent += chunk.length;
  }
  await until(() => s.readPaused, 5000, 'paused');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(s.queuedBytes <= DEFAULT_RCVBUF + 64 * 1024, `queued ${s.queuedBytes}`);
  assert.ok(s.queuedBytes < sent);
  let got = 0;
  const buf = p.alloc(1 << 16);
  while (got < sent) {
    const n = await settled(p.sys(SYS_read, fd, buf, 1 << 16), 10000);
    assert.ok(n > 0);
    got += n;
  }
  assert.is(got, sent, 'reading resumed the socket and everything arrived');
});

test('a pending read on a silent peer can be cancelled; the socket stays usable', async () => {
  const { p } = setup();
  const { fd, c } = await connection(p);
  const r = parked(p.sys(SYS_read, fd, p.alloc(16), 16));
  assert.ok(r.cancellable);
  assert.ok(r.cancel());
  assert.is(r.result, -ECANCELED);
  c.write('after');
  assert.is(await recv(p, fd), 'after');
});

test('closing a descriptor completes calls parked on it with EBADF', async () => {
  const { p } = setup();
  const { fd, lfd } = await connection(p);
  const r = parked(p.sys(SYS_read, fd, p.alloc(16), 16));
  const a = parked(p.sys(SYS_accept4, lfd, 0, 0, 0));
  assert.is(now(p.sys(SYS_close, fd)), 0);
  assert.is(now(p.sys(SYS_close, lfd)), 0);
  assert.is(r.result, -EBADF);
  assert.is(a.result, -EBADF);
});

test('accept4: SOCK_NONBLOCK, EAGAIN without waiting, cancellation, EINVAL when not listening', async () => {
  const { p } = setup();
  const l = listener(p);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_accept4, l.fd, 0, 0, 0)), -EAGAIN);
  const a = parked(p.sys(SYS_accept4, l.fd, 0, 0, 0));
  assert.ok(a.cancel());
  assert.is(a.result, -ECANCELED);
  await client(l.port);
  const fd = await accept(p, l.fd, SOCK_NONBLOCK);
  assert.is(now(p.sys(SYS_fcntl, fd, F_GETFL, 0)), O_RDWR | O_NONBLOCK);
  assert.is(now(p.sys(SYS_read, fd, p.alloc(4), 4)), -EAGAIN, 'a non-blocking socket never waits');
  assert.is(now(p.sys(SYS_accept4, socket(p), 0, 0, 0)), -EINVAL);
  assert.is(now(p.sys(SYS_accept4, l.fd, 0, 0, 0x4)), -EINVAL);
});

test('the accept backlog is honoured: backlog + 1 queue, more are reset', async () => {
  const { p } = setup();
  const l = listener(p, 2);
  const errors: string[] = [];
  // One after another: a burst would overflow the OS queue too (backlog 2), and SYN retries take seconds.
  for (let i = 0; i < 8; i++) {
    const c = net.connect({ port: l.port, host: '127.0.0.1' });
    fx.peer(c);
    c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? '?'));
    // A reset one may see its connect fail rather than succeed then fail.
    await within(new Promise((r) => (c.once('connect', r), c.once('error', r))), 5000, 'connect');
  }
  const s = tcp(p, l.fd);
  await until(() => s.listener!.queued + s.listener!.overflows >= 8, 5000, 'all connections seen');
  assert.is(s.listener!.queued, 3, 'backlog 2 holds 3, as Linux');
  assert.is(s.listener!.overflows, 5);
  await until(() => errors.length === 5, 5000, 'overflowed clients are reset');
  assert.ok(errors.every((e) => e === 'ECONNRESET'), errors.join());
  assert.ok(logs.some((m) => m.includes('accept queue full')));
  for (let i = 0; i < 3; i++) assert.ok((await accept(p, l.fd)) >= 0);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_accept4, l.fd, 0, 0, 0)), -EAGAIN);
  // Room again: new connections queue.
  await client(l.port);
  assert.ok((await accept(p, l.fd)) >= 0);
});

test('connect to a real server: blocking, EINPROGRESS + SO_ERROR, ECONNREFUSED', async () => {
  const { p } = setup();
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.end('hi from node');
  });
  fx.peer(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;

  const fd = socket(p);
  assert.is(await settled(p.sys(SYS_connect, fd, p.sockaddr(port), 16)), 0);
  assert.is(sockname(p, fd, SYS_getpeername).port, port);
  assert.is(await recv(p, fd), 'hi from node');
  assert.is(now(p.sys(SYS_connect, fd, p.sockaddr(port), 16)), -EISCONN);

  const nb = socket(p, SOCK_NONBLOCK);
  assert.is(now(p.sys(SYS_connect, nb, p.sockaddr(port), 16)), -EINPROGRESS);
  assert.is(now(p.sys(SYS_connect, nb, p.sockaddr(port), 16)), -EALREADY);
  await until(() => tcp(p, nb).state === 'connected');
  assert.is(getopt(p, nb, SOL_SOCKET, SO_ERROR), 0);

  // A port nobody listens on: take one from a closed server.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = socket(p);
  assert.is(await settled(p.sys(SYS_connect, refused, p.sockaddr(deadPort), 16)), -ECONNREFUSED);
  const nbRefused = socket(p);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_connect, nbRefused, p.sockaddr(deadPort), 16)), -EINPROGRESS);
  await until(() => tcp(p, nbRefused).state === 'fresh');
  assert.is(getopt(p, nbRefused, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
  assert.is(getopt(p, nbRefused, SOL_SOCKET, SO_ERROR), 0, 'SO_ERROR clears the error');
  assert.is(now(p.sys(SYS_connect, fd, p.sockaddr(port, '::1', AF_INET6), 16)), -EAFNOSUPPORT);
  assert.is(now(p.sys(SYS_connect, fd, p.sockaddr(port), 8)), -EINVAL);
});

test('a pending connect can be cancelled, and the socket connects afterwards', async () => {
  // 10.255.255.1 is not routed here: the SYN goes nowhere, the connect waits. (Granted: outgoing
  // connections are loopback only by default.)
  const { p } = setup({ allowConnect: ['10.255.255.1', '127.0.0.0/8'] });
  const fd = socket(p);
  const r = p.sys(SYS_connect, fd, p.sockaddr(9, '10.255.255.1'), 16);
  // Without a connect in progress there is nothing to cancel: fail loudly rather than pass vacuously.
  assert.ok(r instanceof PendingCall, `precondition: a connect to an unrouted address must wait, but it answered ${String(r)} at once (does this machine route 10.255.255.1?)`);
  assert.ok(r.cancel());
  assert.is(r.result, -ECANCELED);
  assert.is(tcp(p, fd).state, 'fresh');
  // Cancelled, the socket is as new: it can connect to a listener that answers.
  const l = listener(p);
  const again = p.sys(SYS_connect, fd, p.sockaddr(l.port), 16);
  await accept(p, l.fd);
  assert.is(await settled(again), 0);
  assert.is(tcp(p, fd).state, 'connected');
});

test('a guest client and a guest server in one kernel', async () => {
  const { h, p } = setup();
  const q = h.spawn({ name: 'client' });
  const l = listener(p);
  const cfd = socket(q);
  const conn = q.sys(SYS_connect, cfd, q.sockaddr(l.port), 16);
  const sfd = await accept(p, l.fd);
  assert.is(await settled(conn), 0);
  assert.is(await settled(send(q, cfd, 'ping')), 4);
  assert.is(await recv(p, sfd), 'ping');
  assert.is(await settled(send(p, sfd, 'pong')), 4);
  assert.is(await recv(q, cfd), 'pong');
});

test('bind: loopback only by default, EINVAL twice, port in use reported by listen', async () => {
  const { p } = setup();
  const fd = socket(p);
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0, '192.0.2.1'), 16)), -EACCES, 'non-loopback refused');
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0, '0.0.0.0'), 16)), 0);
  assert.is(sockname(p, fd).addr, '127.0.0.1', '0.0.0.0 means loopback');
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0), 16)), -EINVAL, 'already bound');
  assert.is(now(p.sys(SYS_listen, fd, 4)), 0);
  const port = sockname(p, fd).port;
  const again = socket(p);
  assert.is(now(p.sys(SYS_bind, again, p.sockaddr(port), 16)), 0);
  assert.is(await settled(p.sys(SYS_listen, again, 4)), -EADDRINUSE);
  assert.is(now(p.sys(SYS_bind, again, p.sockaddr(port), 12)), -EINVAL);
});

test('allowNonLoopbackListen listens on 0.0.0.0 when asked', async () => {
  const { p } = setup({ allowNonLoopbackListen: true });
  const fd = socket(p);
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0, '0.0.0.0'), 16)), 0);
  assert.is(now(p.sys(SYS_listen, fd, 4)), 0);
  assert.is(sockname(p, fd).addr, '0.0.0.0');
  assert.is(now(p.sys(SYS_close, fd)), 0);
});

test('socket options: honoured ones, honest ones, refused ones', async () => {
  const { p } = setup();
  const { fd, lfd } = await connection(p);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
  assert.is(getopt(p, fd, IPPROTO_TCP, TCP_NODELAY), 0);
  assert.is(setopt(p, fd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  assert.is(getopt(p, fd, IPPROTO_TCP, TCP_NODELAY), 1);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_SNDBUF, 65536), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_SNDBUF), 131072, 'doubled, as Linux');
  assert.is(tcp(p, fd).sndBuf, 131072, 'and enforced');
  assert.is(setopt(p, fd, SOL_SOCKET, SO_RCVBUF, 1), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_RCVBUF), 2304, 'the minimum');
  assert.is(getopt(p, lfd, SOL_SOCKET, SO_REUSEADDR), 1, 'libuv sets it on every listener');
  assert.is(getopt(p, socket(p), SOL_SOCKET, SO_REUSEADDR), 0);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_LINGER, 1), -ENOPROTOOPT);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_TYPE, 1), -ENOPROTOOPT);
  assert.is(setopt(p, fd, 99, 1, 1), -ENOPROTOOPT);
  assert.is(now(p.sys(SYS_setsockopt, fd, SOL_SOCKET, SO_KEEPALIVE, p.int(1), 2)), -EINVAL);
  assert.is(now(p.sys(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, p.int(0), p.int(-1))), -EINVAL);
  // Accepted sockets inherit the listener's options.
  assert.is(setopt(p, lfd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
  const l2 = tcp(p, lfd).local!.port;
  await client(l2);
  const fd2 = await accept(p, lfd);
  assert.is(getopt(p, fd2, IPPROTO_TCP, TCP_NODELAY), 1);
});

test('reads and writes on unconnected and listening sockets', async () => {
  const { p } = setup();
  const fresh = socket(p);
  assert.is(now(p.sys(SYS_read, fresh, p.alloc(4), 4)), -ENOTCONN);
  assert.is(now(send(p, fresh, 'x')), -EPIPE);
  assert.is(now(p.sys(SYS_getpeername, fresh, p.alloc(16), p.int(16))), -ENOTCONN);
  const l = listener(p);
  assert.is(now(p.sys(SYS_read, l.fd, p.alloc(4), 4)), -ENOTCONN);
  assert.is(now(p.sys(SYS_listen, l.fd, 1)), 0, 'listen again changes the backlog');
  assert.is(now(p.sys(SYS_sendto, l.fd, p.alloc(1), 1, 0, 0, 0)), -EPIPE);
});

test('O_NONBLOCK through fcntl makes reads answer EAGAIN', async () => {
  const { p } = setup();
  const { fd } = await connection(p);
  assert.is(now(p.sys(SYS_fcntl, fd, F_SETFL, O_NONBLOCK)), 0);
  assert.is(now(p.sys(SYS_read, fd, p.alloc(4), 4)), -EAGAIN);
  assert.is(now(p.sys(SYS_fcntl, fd, F_SETFL, 0)), 0);
  parked(p.sys(SYS_read, fd, p.alloc(4), 4));
});

test('detach closes the process sockets and drops parked calls without completing them', async () => {
  const { h, p } = setup();
  const { fd, c, port } = await connection(p);
  const got = collect(c);
  const r = parked(p.sys(SYS_read, fd, p.alloc(4), 4));
  h.detach(p);
  await until(() => got.ended, 5000, 'client sees FIN');
  assert.not.ok(r.done, 'dropped, not completed');
  const refused = await within(
    new Promise<string>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '?'));
      s.on('connect', () => resolve('connected'));
    }),
    5000,
  );
  assert.is(refused, 'ECONNREFUSED', 'the listener is gone');
});

test('close() of the kernel releases listeners and connections', async () => {
  const { k, p } = setup();
  const { c, port } = await connection(p);
  const got = collect(c);
  k.close();
  await until(() => got.ended || got.error !== null, 5000, 'the client sees the end');
  const code = await within(
    new Promise<string>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '?'));
      s.on('connect', () => resolve('connected'));
    }),
    5000,
  );
  assert.is(code, 'ECONNREFUSED');
});

// Documented error paths (docs/os-kernel.md).

test('accept4 with the descriptor table full fails with EMFILE and leaves the connection queued', async () => {
  const { h } = setup();
  // 0, 1, 2, the listener and one more descriptor: the table is full at 5.
  const p = h.spawn({ name: 'small', limits: { maxFds: 5 } });
  const l = listener(p);
  const spare = socket(p);
  assert.ok(spare >= 0, `socket: ${spare}`);
  const c = await client(l.port);
  const got = collect(c);
  assert.is(await accept(p, l.fd), -EMFILE);
  assert.is(now(p.sys(SYS_close, spare)), 0);
  const fd = await accept(p, l.fd);
  assert.ok(fd >= 3, `the queued connection is accepted once a descriptor is free: ${fd}`);
  assert.is(await settled(send(p, fd, 'still here')), 10);
  await until(() => got.text === 'still here', 5000, 'the client reads what the guest wrote');
});

test('SO_SNDBUF and SO_RCVBUF are clamped to 212,992 and doubled, as Linux', async () => {
  const { p } = setup();
  const { fd } = await connection(p);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_SNDBUF, 1 << 30), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_SNDBUF), 425984);
  assert.is(tcp(p, fd).sndBuf, 425984, 'and enforced');
  assert.is(setopt(p, fd, SOL_SOCKET, SO_SNDBUF, 1), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_SNDBUF), 4608, 'the minimum');
  assert.is(setopt(p, fd, SOL_SOCKET, SO_RCVBUF, 1 << 30), 0);
  assert.is(getopt(p, fd, SOL_SOCKET, SO_RCVBUF), 425984);
});

test('with allowNonLoopbackListen, binding an address that is not this host\'s is EADDRNOTAVAIL', async () => {
  const { p } = setup({ allowNonLoopbackListen: true });
  const fd = socket(p);
  // TEST-NET-1 (RFC 5737): never an address of this host.
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0, '192.0.2.1'), 16)), -EADDRNOTAVAIL);
  // The socket is still fresh: it can bind to loopback instead.
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0), 16)), 0);
  assert.is(await settled(p.sys(SYS_listen, fd, 4)), 0);
});

test('errno mapping: Node error codes become Linux errno numbers, unknown ones EIO', () => {
  const err = (code: unknown): Error => Object.assign(new Error('x'), { code });
  assert.is(errnoOf(err('ECONNRESET')), ECONNRESET);
  assert.is(errnoOf(err('EADDRINUSE')), EADDRINUSE);
  assert.is(errnoOf(err('EWOULDBLOCK')), EAGAIN);
  assert.is(errnoOf(err('ENOTSUP')), EOPNOTSUPP);
  assert.is(errnoOf(err('ERR_STREAM_DESTROYED')), EPIPE);
  assert.is(errnoOf(err('ERR_STREAM_WRITE_AFTER_END')), EPIPE);
  assert.is(errnoOf(err('ERR_SOCKET_CLOSED')), EPIPE);
  assert.is(errnoOf(err('ERR_SOCKET_CONNECTION_TIMEOUT')), ETIMEDOUT);
  assert.is(errnoOf(err('ESOMETHINGNEW')), EIO);
  assert.is(errnoOf(err(42)), EIO);
  assert.is(errnoOf(new Error('no code')), EIO);
});

test.run();
