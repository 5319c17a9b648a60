import * as net from 'node:net';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET6,
  EADDRINUSE,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  ECANCELED,
  ECONNREFUSED,
  ECONNRESET,
  EF_NOWAIT,
  EINPROGRESS,
  EINVAL,
  EIO,
  EISCONN,
  EOPNOTSUPP,
  ETIMEDOUT,
  ENOPROTOOPT,
  EPIPE,
  IPPROTO_TCP,
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
  SYS_accept4,
  SYS_bind,
  SYS_connect,
  SYS_getpeername,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_read,
  SYS_recvfrom,
  SYS_setsockopt,
  SYS_write,
  TCP_NODELAY,
} from '../host/abi/v1.js';
import { DEFAULT_RCVBUF, OsKernel, TcpSocket, type OsKernelOptions, type OsProcess } from '../host/kernel/os/index.js';
import { errnoOf } from '../host/kernel/os/errno.js';
import { accept, collect, getsockopt as getopt, hostClient, listener, send, setsockopt as setopt, socket } from './helpers/kernel-calls.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, PendingCall, settled, until, within, type TestProcess } from './helpers/kernel-harness.js';
import { stalledListener } from './helpers/stalled-listener.js';

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

/** A real client, connected. */
const client = (port: number) => hostClient(port, (s) => fx.peer(s));

/** A guest server socket connected to a real client. */
async function connection(p: P) {
  const l = listener(p);
  const c = await client(l.port);
  const fd = await accept(p, l.fd);
  assert.ok(fd >= 3, `accept4 returned ${fd}`);
  return { lfd: l.fd, port: l.port, fd, c };
}

/** The TcpSocket behind a guest descriptor (white-box checks of back-pressure). */
function tcp(p: P, fd: number): TcpSocket {
  const s = p.proc.fds.get(fd)?.value;
  assert.ok(s instanceof TcpSocket);
  return s as TcpSocket;
}

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

// The connect cases themselves are in the shared sockets suite; this one adds the os kernel's own
// view of them: the TcpSocket state each step leaves behind.
test('connect moves the TcpSocket through its states: connected, refused back to fresh, cancelled back to fresh', async () => {
  const { p } = setup();
  const l = listener(p);
  const nb = socket(p, SOCK_NONBLOCK);
  assert.is(tcp(p, nb).state, 'fresh');
  assert.is(now(p.sys(SYS_connect, nb, p.sockaddr(l.port), 16)), -EINPROGRESS);
  assert.is(tcp(p, nb).state, 'connecting');
  await until(() => tcp(p, nb).state === 'connected', 5000, 'connected');

  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = socket(p);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_connect, refused, p.sockaddr(deadPort), 16)), -EINPROGRESS);
  await until(() => tcp(p, refused).state === 'fresh', 5000, 'a refused connect leaves the socket fresh');
  assert.is(getopt(p, refused, SOL_SOCKET, SO_ERROR), ECONNREFUSED);

  // A listener whose accept queue is full drops the SYN: the connect waits until cancelled.
  const stalled = await stalledListener();
  const fd = socket(p);
  const r = p.sys(SYS_connect, fd, p.sockaddr(stalled.port), 16);
  try {
    assert.ok(r instanceof PendingCall, `precondition: a connect to a full accept queue must wait, but it answered ${String(r)} at once`);
    assert.is(tcp(p, fd).state, 'connecting');
    assert.ok(r.cancel());
    assert.is(r.result, -ECANCELED);
  } finally {
    stalled.close();
  }
  assert.is(tcp(p, fd).state, 'fresh', 'a cancelled connect leaves the socket as new');
  const again = p.sys(SYS_connect, fd, p.sockaddr(l.port), 16);
  await accept(p, l.fd);
  assert.is(await settled(again), 0);
  assert.is(tcp(p, fd).state, 'connected');
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

// The clamp itself is in the shared sockets suite; here: the bound the os kernel enforces follows it.
test('the clamped SO_SNDBUF is the send bound the socket enforces', async () => {
  const { p } = setup();
  const { fd } = await connection(p);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_SNDBUF, 1 << 30), 0);
  assert.is(tcp(p, fd).sndBuf, 425984);
  assert.is(setopt(p, fd, SOL_SOCKET, SO_SNDBUF, 1), 0);
  assert.is(tcp(p, fd).sndBuf, 4608);
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
