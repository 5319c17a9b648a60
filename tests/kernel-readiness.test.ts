/**
 * Readiness, on every kernel: epoll (level- and edge-triggered, one-shot, errors, nesting, fairness,
 * descriptors leaving the set) and poll, on pipes, files, standard streams and sockets; guest peers
 * on every kernel, host peers over real TCP on the kernels that have them. Timeouts in virtual time
 * are in kernel-virtual-readiness.test.ts.
 */
import * as net from 'node:net';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AT_FDCWD,
  EAGAIN,
  EBADF,
  ECANCELED,
  EEXIST,
  EF_NOWAIT,
  EFAULT,
  EINVAL,
  ELOOP,
  ENOENT,
  EPERM,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLRDHUP,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  F_GETFD,
  FD_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SHUT_WR,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_getsockname,
  SYS_fcntl,
  SYS_fstat,
  SYS_listen,
  SYS_openat,
  SYS_poll,
  SYS_read,
  SYS_shutdown,
  SYS_socket,
  SYS_write,
} from '../host/abi/v1.js';
import { epoll, pipe, PIPE_CAPACITY } from './helpers/kernel-calls.js';
import { conformance, DATA, HOST_NETWORK } from './helpers/conformance.js';
import { now, parked, settled, until, within, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<unknown>;
const ctl = (p: P, ep: number, op: number, fd: number, events: number, lo = fd, hi = 0) =>
  now(p.sys(SYS_epoll_ctl, ep, op, fd, p.epollEvent(events, lo, hi)));

/** epoll_wait with timeout 0: the (events, data) reported now. */
function ready(p: P, ep: number, max = 16) {
  const buf = p.alloc(12 * max, 4);
  const n = now(p.sys(SYS_epoll_wait, ep, buf, max, 0));
  if (n < 0) throw new Error(`epoll_wait: ${n}`);
  return p.readEpollEvents(buf, n).map((e) => [e.events, e.dataLo] as const);
}

const put = (p: P, fd: number, text: string) => now(p.sys(SYS_write, fd, ...p.data(text)));
const drain = (p: P, fd: number, n = 4096) => now(p.sys(SYS_read, fd, p.alloc(n), n));

const writeText = (p: P, fd: number, text: string | Uint8Array, flags = 0) => {
  const [ptr, len] = p.data(text);
  return p.sysWith({ flags }, SYS_write, fd, ptr, len);
};

function wait(p: P, ep: number, max = 8, timeout = -1, flags = 0) {
  const buf = p.alloc(12 * max);
  const r = p.sysWith({ flags }, SYS_epoll_wait, ep, buf, max, timeout);
  return { r, events: (n: number) => p.readEpollEvents(buf, n) };
}

/** A listener of p's on an ephemeral loopback port, and a socket of q's to connect to it. */
function connected(p: P, q: P) {
  const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  now(p.sys(SYS_bind, l, p.sockaddr(0), 16));
  now(p.sys(SYS_listen, l, 8));
  const addr = p.alloc(16);
  now(p.sys(SYS_getsockname, l, addr, p.int(16)));
  const c = now(q.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  return { l, c, port: p.readSockaddr(addr).port };
}

/**
 * Asserts that `observe()` comes to equal `expected` (within 2 s): on kernels with real sockets a
 * peer's bytes or shutdown arrive a moment after the call that sent them returned.
 */
async function eventually<T>(observe: () => T, expected: T): Promise<void> {
  let last = observe();
  const end = Date.now() + 2000;
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 2));
    last = observe();
  }
  assert.equal(last, expected);
}

await conformance('readiness', (test, subject) => {
  const setup = (limits?: { maxFds: number }) => {
    const s = subject.setup({ files: { file: 'x' }, ...(limits ? { limits } : {}) });
    return { ...s, q: s.spawn() };
  };

  test('epoll_create1: flags and the descriptor', async () => {
    const { p } = setup();
    assert.is(now(p.sys(SYS_epoll_create1, 1)), -EINVAL);
    const ep = now(p.sys(SYS_epoll_create1, EPOLL_CLOEXEC));
    assert.is(ep, 3);
    assert.is(now(p.sys(SYS_fcntl, ep, F_GETFD, 0)), FD_CLOEXEC);
    const st = p.statBuf();
    assert.is(now(p.sys(SYS_fstat, ep, st)), 0);
    assert.is(p.readStat(st).mode, 0o600, 'an anonymous inode');
    assert.is(drain(p, ep), -EINVAL, 'read on an epoll descriptor');
  });

  test('epoll_ctl errors', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const [r] = pipe(p);
    const file = now(p.sys(SYS_openat, AT_FDCWD, p.cstr(`${DATA}/file`), O_RDONLY, 0));
    const dir = now(p.sys(SYS_openat, AT_FDCWD, p.cstr(DATA), O_RDONLY, 0));
    assert.is(ctl(p, 99, EPOLL_CTL_ADD, r, EPOLLIN), -EBADF);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, 99, EPOLLIN), -EBADF);
    assert.is(ctl(p, r, EPOLL_CTL_ADD, r, EPOLLIN), -EINVAL, 'not an epoll descriptor');
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, ep, EPOLLIN), -EINVAL, 'itself');
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, file, EPOLLIN), -EPERM, 'regular files cannot be watched');
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, dir, EPOLLIN), -EPERM, 'nor directories');
    assert.is(ctl(p, ep, EPOLL_CTL_MOD, r, EPOLLIN), -ENOENT);
    assert.is(ctl(p, ep, EPOLL_CTL_DEL, r, 0), -ENOENT);
    assert.is(ctl(p, ep, 9, r, EPOLLIN), -EINVAL, 'bad op');
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, r, 0x7fff_fff0)), -EFAULT);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN), 0);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN), -EEXIST);
    assert.is(ctl(p, ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLEXCLUSIVE), -EINVAL);
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, r, 0)), 0, 'DEL ignores the event pointer');
    // Nesting is allowed, cycles are not.
    const outer = epoll(p);
    assert.is(ctl(p, outer, EPOLL_CTL_ADD, ep, EPOLLIN), 0);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, outer, EPOLLIN), -ELOOP);
  });

  test('level-triggered: reported while ready, with the 64-bit data as given', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const [r, w] = pipe(p);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN, 0xdeadbeef, 0x12345678), 0);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, w, EPOLLOUT, 7, 0), 0);
    const buf = p.alloc(48, 4);
    assert.is(now(p.sys(SYS_epoll_wait, ep, buf, 4, 0)), 1);
    assert.equal(p.readEpollEvents(buf, 1), [{ events: EPOLLOUT, dataLo: 7, dataHi: 0 }]);
    put(p, w, 'x');
    const n = now(p.sys(SYS_epoll_wait, ep, buf, 4, 0));
    const evs = p.readEpollEvents(buf, n);
    assert.ok(evs.some((e) => e.events === EPOLLIN && e.dataLo === 0xdeadbeef && e.dataHi === 0x12345678));
    assert.ok(ready(p, ep).some(([e]) => e === EPOLLIN), 'still readable: reported again');
    drain(p, r);
    assert.equal(ready(p, ep), [[EPOLLOUT, 7]]);
  });

  test('edge-triggered: once per change', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const [r, w] = pipe(p);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET), 0);
    assert.equal(ready(p, ep), []);
    put(p, w, 'a');
    assert.equal(ready(p, ep), [[EPOLLIN, r]]);
    assert.equal(ready(p, ep), [], 'not again without a new event');
    put(p, w, 'b');
    assert.equal(ready(p, ep), [[EPOLLIN, r]], 'new data is a new edge');
  });

  test('one-shot: reported once until EPOLL_CTL_MOD re-arms it', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const [r, w] = pipe(p);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLONESHOT), 0);
    put(p, w, 'a');
    assert.equal(ready(p, ep), [[EPOLLIN, r]]);
    put(p, w, 'b');
    assert.equal(ready(p, ep), [], 'disarmed');
    assert.is(ctl(p, ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 42), 0);
    assert.equal(ready(p, ep), [[EPOLLIN, 42]], 'MOD re-arms (and the data changes)');
  });

  test('EPOLLERR and EPOLLHUP are always reported; EPOLLRDHUP only on request', async () => {
    const { p, q } = setup();
    const ep = epoll(p);
    const [r, w] = pipe(p);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, w, 0), 0, 'no events asked for');
    assert.equal(ready(p, ep), []);
    now(p.sys(SYS_close, r));
    assert.equal(ready(p, ep), [[EPOLLERR, w]], 'a write end without reader');
    const [r2, w2] = pipe(p);
    assert.is(ctl(p, ep, EPOLL_CTL_ADD, r2, EPOLLIN), 0);
    now(p.sys(SYS_close, w2));
    assert.ok(ready(p, ep).some(([e, d]) => d === r2 && e === EPOLLHUP), 'a read end without writer');
    // Sockets: the peer's shutdown is EPOLLIN | EPOLLRDHUP (when asked).
    const { l, c, port } = connected(p, q);
    assert.is(await settled(q.sys(SYS_connect, c, q.sockaddr(port), 16)), 0);
    const s = await settled(p.sys(SYS_accept4, l, 0, 0, 0));
    const ep2 = epoll(p);
    assert.is(ctl(p, ep2, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLRDHUP), 0);
    assert.equal(ready(p, ep2), []);
    now(q.sys(SYS_shutdown, c, SHUT_WR));
    await eventually(() => ready(p, ep2), [[EPOLLIN | EPOLLRDHUP, s]]);
  });

  test('epoll_wait argument errors', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const [r] = pipe(p);
    const buf = p.alloc(24, 4);
    assert.is(now(p.sys(SYS_epoll_wait, ep, buf, 0, 0)), -EINVAL);
    assert.is(now(p.sys(SYS_epoll_wait, ep, buf, -1, 0)), -EINVAL);
    assert.is(now(p.sys(SYS_epoll_wait, r, buf, 1, 0)), -EINVAL, 'not an epoll descriptor');
    assert.is(now(p.sys(SYS_epoll_wait, 99, buf, 1, 0)), -EBADF);
    assert.is(now(p.sys(SYS_epoll_wait, ep, 0x7fff_fff0, 2, 0)), -EFAULT);
  });

  test('maxevents limits a report; level-triggered items rotate fairly', async () => {
    const { p } = setup();
    const ep = epoll(p);
    const ends: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [r, w] = pipe(p);
      put(p, w, 'x');
      ends.push(r);
      ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN);
    }
    assert.equal(ready(p, ep, 2).map(([, d]) => d), [ends[0], ends[1]]);
    assert.equal(ready(p, ep, 2).map(([, d]) => d), [ends[2], ends[0]], 'the rest first, then the requeued');
  });

  test('a closed descriptor leaves every epoll set', async () => {
    const { p } = setup();
    const ep1 = epoll(p);
    const ep2 = epoll(p);
    const [r, w] = pipe(p);
    ctl(p, ep1, EPOLL_CTL_ADD, r, EPOLLIN);
    ctl(p, ep2, EPOLL_CTL_ADD, r, EPOLLIN);
    put(p, w, 'x');
    now(p.sys(SYS_close, r));
    assert.equal(ready(p, ep1), []);
    assert.equal(ready(p, ep2), []);
    const [r2] = pipe(p);
    assert.is(r2, r, 'the number is reused');
    assert.is(ctl(p, ep1, EPOLL_CTL_ADD, r2, EPOLLIN), 0, 'and can be added again');
  });

  test('sockets: a listener is readable when a connection waits; a connection is writable', async () => {
    const { p, q } = setup();
    const { l, c, port } = connected(p, q);
    const ep = epoll(p);
    ctl(p, ep, EPOLL_CTL_ADD, l, EPOLLIN);
    const buf = p.alloc(24, 4);
    const wait = parked(p.sys(SYS_epoll_wait, ep, buf, 2, -1));
    const connecting = q.sys(SYS_connect, c, q.sockaddr(port), 16);
    assert.is((await settled(wait)), 1);
    assert.is(await settled(connecting), 0);
    const s = await settled(p.sys(SYS_accept4, l, 0, 0, 0));
    assert.equal(ready(p, ep), [], 'accepted: nothing queued');
    ctl(p, ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT);
    assert.equal(ready(p, ep), [[EPOLLOUT, s]]);
    put(q, c, 'hi');
    await eventually(() => ready(p, ep), [[EPOLLIN | EPOLLOUT, s]]);
  });

  test('poll: immediate answers, POLLNVAL, negative descriptors, files and stdio', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const file = now(p.sys(SYS_openat, AT_FDCWD, p.cstr(`${DATA}/file`), O_RDWR, 0));
    const fds = p.pollfds([
      [r, POLLIN],
      [w, POLLOUT],
      [-1, POLLIN],
      [99, POLLIN],
      [file, POLLIN | POLLOUT],
      [0, POLLIN],
      [1, POLLOUT],
    ]);
    assert.is(now(p.sys(SYS_poll, fds, 7, 0)), 5);
    // Standard input is at end of file. The native kernel's is a host pipe whose writer is gone, which
    // Linux reports as POLLHUP (a read answers 0 all the same).
    const stdin = subject.name === 'native' ? POLLHUP : POLLIN;
    assert.equal(p.revents(fds, 7), [0, POLLOUT, 0, POLLNVAL, POLLIN | POLLOUT, stdin, POLLOUT]);
    const none = p.pollfds([[r, POLLIN]]);
    assert.is(now(p.sys(SYS_poll, none, 1, 0)), 0);
    assert.equal(p.revents(none, 1), [0], 'revents cleared');
    now(p.sys(SYS_close, w));
    assert.is(now(p.sys(SYS_poll, none, 1, 0)), 1);
    assert.equal(p.revents(none, 1), [POLLHUP], 'POLLHUP is reported unasked');
  });

  test('poll argument errors and POLLERR', async () => {
    const { p } = setup({ maxFds: 8 });
    assert.is(now(p.sys(SYS_poll, p.alloc(80), 9, 0)), -EINVAL, 'more entries than descriptors allowed');
    assert.is(now(p.sys(SYS_poll, 0x7fff_fff0, 2, 0)), -EFAULT);
    const [r, w] = pipe(p);
    now(p.sys(SYS_close, r));
    const fds = p.pollfds([[w, POLLOUT]]);
    assert.is(now(p.sys(SYS_poll, fds, 1, 0)), 1);
    assert.equal(p.revents(fds, 1), [POLLOUT | POLLERR], 'no reader: POLLERR (a write would fail with EPIPE)');
  });

  test('nested epoll: an epoll set is readable when it has events', async () => {
    const { p } = setup();
    const inner = epoll(p);
    const outer = epoll(p);
    const [r, w] = pipe(p);
    ctl(p, inner, EPOLL_CTL_ADD, r, EPOLLIN);
    ctl(p, outer, EPOLL_CTL_ADD, inner, EPOLLIN, 77);
    assert.equal(ready(p, outer), []);
    const wait = parked(p.sys(SYS_epoll_wait, outer, p.alloc(24, 4), 2, -1));
    put(p, w, 'x');
    assert.is((await settled(wait)), 1);
    assert.equal(ready(p, inner), [[EPOLLIN, r]]);
    const pfd = p.pollfds([[inner, POLLIN]]);
    assert.is(now(p.sys(SYS_poll, pfd, 1, 0)), 1);
  });

  test('a writable pipe end becomes ready again when a reader makes room', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const [src] = p.data(new Uint8Array(PIPE_CAPACITY));
    assert.is(now(p.sys(SYS_write, w, src, PIPE_CAPACITY)), PIPE_CAPACITY);
    const fds = p.pollfds([[w, POLLOUT]]);
    const wait = parked(p.sys(SYS_poll, fds, 1, -1));
    drain(p, r, 100);
    assert.is(wait.done, false, 'room for less than PIPE_BUF is not writable');
    drain(p, r, 5000);
    assert.is((await settled(wait)), 1);
  });

  /** A guest server socket, accepted from a real client. */
  async function connection(p: P) {
    const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    now(p.sys(SYS_bind, l, p.sockaddr(0), 16));
    now(p.sys(SYS_listen, l, 8));
    const addr = p.alloc(16);
    now(p.sys(SYS_getsockname, l, addr, p.int(16)));
    const c = net.connect({ port: p.readSockaddr(addr).port, host: '127.0.0.1', allowHalfOpen: true });
    c.on('error', () => {});
    subject.peer(c);
    const fd = await settled(p.sys(SYS_accept4, l, 0, 0, 0));
    await within(new Promise((r) => (c.readyState === 'open' ? r(null) : c.once('connect', r))), 5000);
    return { l, fd, c };
  }

  test('epoll on a real socket: level-triggered, edge-triggered, one-shot, RDHUP', async () => {
    const { p } = subject.setup();
    const { fd, c } = await connection(p);
    const ep = now(p.sys(SYS_epoll_create1, 0));
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, p.epollEvent(EPOLLIN | EPOLLRDHUP, 7, 9))), 0);
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, p.epollEvent(EPOLLIN))), -EEXIST);
    const w = wait(p, ep);
    const pw = parked(w.r);
    c.write('ping');
    assert.is(await settled(pw), 1);
    assert.equal(w.events(1), [{ events: EPOLLIN, dataLo: 7, dataHi: 9 }]);
    const again = wait(p, ep, 8, 0);
    assert.is(now(again.r), 1, 'level-triggered: still readable');
    assert.is(now(p.sys(SYS_read, fd, p.alloc(16), 16)), 4);
    assert.is(now(wait(p, ep, 8, 0).r), 0, 'drained');

    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fd, p.epollEvent(EPOLLIN | EPOLLET, 1))), 0);
    c.write('a');
    await until(() => (p.sys(SYS_poll, p.pollfds([[fd, POLLIN]]), 1, 0) as number) === 1);
    assert.is(now(wait(p, ep, 8, 0).r), 1);
    assert.is(now(wait(p, ep, 8, 0).r), 0, 'edge-triggered: reported once');
    c.write('b');
    await settled(wait(p, ep).r);
    assert.is(now(p.sys(SYS_read, fd, p.alloc(16), 16)), 2);

    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fd, p.epollEvent(EPOLLIN | EPOLLONESHOT, 2))), 0);
    c.write('c');
    assert.is(await settled(wait(p, ep).r), 1);
    c.write('d');
    await new Promise((r) => setTimeout(r, 20));
    assert.is(now(wait(p, ep, 8, 0).r), 0, 'one-shot: disarmed');
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fd, p.epollEvent(EPOLLIN | EPOLLRDHUP, 3))), 0);
    const rearmed = wait(p, ep, 8, 0);
    assert.is(now(rearmed.r), 1, 're-armed by EPOLL_CTL_MOD');
    assert.is(now(p.sys(SYS_read, fd, p.alloc(16), 16)), 2);

    c.end();
    const hup = wait(p, ep);
    assert.is(await settled(hup.r), 1);
    assert.is(hup.events(1)[0]!.events, EPOLLIN | EPOLLRDHUP, 'the peer half-closed');
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, fd, 0)), 0);
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, fd, 0)), -ENOENT);
    const file = await settled(p.sys(SYS_openat, AT_FDCWD, p.cstr('/'), O_RDONLY, 0));
    assert.is(file, -ENOENT, 'no grants: nothing to open');
  }, HOST_NETWORK);

  test('epoll: writability, errors, closed descriptors leave the set, timeouts, cancellation', async () => {
    const { p } = subject.setup();
    const { fd, c } = await connection(p);
    const ep = now(p.sys(SYS_epoll_create1, 0));
    assert.is(now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fd, p.epollEvent(EPOLLOUT, 5))), 0);
    const w = wait(p, ep, 8, 0);
    assert.is(now(w.r), 1);
    assert.is(w.events(1)[0]!.events, EPOLLOUT);
    c.resetAndDestroy();
    await until(() => {
      const x = wait(p, ep, 8, 0);
      return now(x.r) === 1 && (x.events(1)[0]!.events & EPOLLERR) !== 0;
    }, 5000, 'EPOLLERR after a reset');
    assert.is(now(p.sys(SYS_close, fd)), 0);
    assert.is(now(wait(p, ep, 8, 0).r), 0, 'a closed descriptor leaves the set');

    const start = Date.now();
    assert.is(await settled(wait(p, ep, 8, 30).r), 0, 'timeout');
    assert.ok(Date.now() - start >= 25, 'waited for the timeout');
    assert.is(now(wait(p, ep, 8, -1, EF_NOWAIT).r), -EAGAIN);
    const forever = parked(wait(p, ep).r);
    assert.ok(forever.cancel());
    assert.is((await settled(forever)), -ECANCELED);
    const closing = parked(wait(p, ep).r);
    assert.is(now(p.sys(SYS_close, ep)), 0);
    assert.is((await settled(closing)), -EBADF);
    assert.is(now(p.sys(SYS_epoll_create1, 1)), -EINVAL);
    assert.is(now(p.sys(SYS_epoll_wait, 0, p.alloc(12), 1, 0)), -EINVAL, 'not an epoll set');
    assert.is(now(p.sys(SYS_epoll_wait, 99, p.alloc(12), 1, 0)), -EBADF);
    const ep2 = now(p.sys(SYS_epoll_create1, 0));
    assert.is(now(p.sys(SYS_epoll_wait, ep2, p.alloc(12), 0, 0)), -EINVAL);
    assert.is(now(p.sys(SYS_epoll_ctl, ep2, EPOLL_CTL_ADD, ep2, p.epollEvent(EPOLLIN))), -EINVAL);
  }, HOST_NETWORK);

  test('epoll on pipes and the listener: a queued connection is readable', async () => {
    const { p } = subject.setup();
    const [r, w] = pipe(p);
    const ep = now(p.sys(SYS_epoll_create1, 0));
    now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, r, p.epollEvent(EPOLLIN, 1)));
    now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, w, p.epollEvent(EPOLLOUT, 2)));
    const first = wait(p, ep, 8, 0);
    assert.is(now(first.r), 1);
    assert.is(first.events(1)[0]!.dataLo, 2);
    now(writeText(p, w, 'x'));
    assert.is(now(wait(p, ep, 8, 0).r), 2);
    now(p.sys(SYS_close, w));
    const hup = wait(p, ep, 8, 0);
    assert.is(now(hup.r), 1);
    assert.is(hup.events(1)[0]!.events, EPOLLIN | EPOLLHUP);

    const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    now(p.sys(SYS_bind, l, p.sockaddr(0), 16));
    now(p.sys(SYS_listen, l, 8));
    const addr = p.alloc(16);
    now(p.sys(SYS_getsockname, l, addr, p.int(16)));
    const ep2 = now(p.sys(SYS_epoll_create1, 0));
    now(p.sys(SYS_epoll_ctl, ep2, EPOLL_CTL_ADD, l, p.epollEvent(EPOLLIN, 3)));
    const pending = parked(wait(p, ep2).r);
    const c = net.connect({ port: p.readSockaddr(addr).port, host: '127.0.0.1' });
    c.on('error', () => {});
    subject.peer(c);
    assert.is(await settled(pending), 1);
    assert.ok(now(p.sysWith({ flags: EF_NOWAIT }, SYS_accept4, l, 0, 0, 0)) >= 0);
  }, HOST_NETWORK);

  test('poll on sockets and pipes: readiness, POLLNVAL, timeouts, cancellation', async () => {
    const { p } = subject.setup();
    const { fd, c } = await connection(p);
    const [r, w] = pipe(p);
    const fds = p.pollfds([
      [fd, POLLIN | POLLOUT],
      [r, POLLIN],
      [w, POLLOUT],
      [77, POLLIN],
      [-1, POLLIN],
    ]);
    assert.is(now(p.sys(SYS_poll, fds, 5, 0)), 3);
    assert.equal(p.revents(fds, 5), [POLLOUT, 0, POLLOUT, POLLNVAL, 0]);
    const readable = p.pollfds([
      [fd, POLLIN],
      [r, POLLIN],
    ]);
    const pending = parked(p.sys(SYS_poll, readable, 2, -1));
    c.write('x');
    assert.is(await settled(pending), 1);
    assert.equal(p.revents(readable, 2), [POLLIN, 0]);
    const t0 = Date.now();
    const quiet = p.pollfds([[r, POLLIN]]);
    assert.is(await settled(p.sys(SYS_poll, quiet, 1, 25)), 0);
    assert.ok(Date.now() - t0 >= 20);
    assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_poll, quiet, 1, -1)), -EAGAIN);
    const cancelled = parked(p.sys(SYS_poll, quiet, 1, -1));
    assert.ok(cancelled.cancel());
    assert.is((await settled(cancelled)), -ECANCELED);
    const closed = parked(p.sys(SYS_poll, quiet, 1, -1));
    now(p.sys(SYS_close, r));
    if (subject.name === 'native') {
      // Linux leaves a poll on a descriptor closed meanwhile unspecified. The native kernel's poll
      // holds the host's file, as Linux's does, and goes on waiting (until its timeout or a
      // cancellation); the virtual and os kernels end it with POLLNVAL.
      await new Promise((r) => setTimeout(r, 50));
      assert.is(closed.done, false, 'still waiting');
      assert.ok(closed.cancel());
      assert.is(await settled(closed), -ECANCELED);
    } else {
      assert.is((await settled(closed)), 1);
      assert.equal(p.revents(quiet, 1), [POLLNVAL], 'closed while polled');
    }
    now(p.sys(SYS_close, w));
    const eof = p.pollfds([[fd, POLLIN]]);
    c.end();
    now(p.sys(SYS_read, fd, p.alloc(4), 4));
    await until(() => now(p.sys(SYS_poll, eof, 1, 0)) === 1 && (p.revents(eof, 1)[0]! & POLLIN) !== 0);
    assert.is(now(p.sys(SYS_poll, p.alloc(8), 1 << 30, 0)), -EINVAL);
  }, HOST_NETWORK);
});
