import { test as uvuTest } from 'uvu';
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
  POLLRDHUP,
  SHUT_WR,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
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
import { PIPE_CAPACITY, VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
import { pipe } from './helpers/kernel-calls.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, type SpawnOptions, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<VirtualProcess>;
const fx = new Fixtures<VirtualProcess>({ close: false });

function setup(spawn: SpawnOptions = {}) {
  const kernel = new VirtualKernel({ kind: 'virtual', files: { '/file': 'x' } });
  const h = fx.harness(kernel);
  return { kernel, h, p: h.spawn(spawn), q: h.spawn() };
}

const test = fx.guard(uvuTest);

const epoll = (p: P) => now(p.sys(SYS_epoll_create1, 0));
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

function connected(p: P, q: P, port: number) {
  const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  now(p.sys(SYS_bind, l, p.sockaddr(port), 16));
  now(p.sys(SYS_listen, l, 8));
  const c = now(q.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  return { l, c };
}

test('epoll_create1: flags and the descriptor', () => {
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

test('epoll_ctl errors', () => {
  const { p } = setup();
  const ep = epoll(p);
  const [r] = pipe(p);
  const file = now(p.sys(SYS_openat, AT_FDCWD, p.cstr('/file'), O_RDONLY, 0));
  const dir = now(p.sys(SYS_openat, AT_FDCWD, p.cstr('/'), O_RDONLY, 0));
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

test('level-triggered: reported while ready, with the 64-bit data as given', () => {
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

test('edge-triggered: once per change', () => {
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

test('one-shot: reported once until EPOLL_CTL_MOD re-arms it', () => {
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

test('EPOLLERR and EPOLLHUP are always reported; EPOLLRDHUP only on request', () => {
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
  const { l, c } = connected(p, q, 8000);
  now(q.sys(SYS_connect, c, q.sockaddr(8000), 16));
  const s = now(p.sys(SYS_accept4, l, 0, 0, 0));
  const ep2 = epoll(p);
  assert.is(ctl(p, ep2, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLRDHUP), 0);
  assert.equal(ready(p, ep2), []);
  now(q.sys(SYS_shutdown, c, SHUT_WR));
  assert.equal(ready(p, ep2), [[EPOLLIN | EPOLLRDHUP, s]]);
});

test('epoll_wait waits for readiness, and its timeout is virtual time', () => {
  const { h, kernel, p } = setup();
  const ep = epoll(p);
  const [r, w] = pipe(p);
  ctl(p, ep, EPOLL_CTL_ADD, r, EPOLLIN, 5);
  const buf = p.alloc(24, 4);
  const wait = parked(p.sys(SYS_epoll_wait, ep, buf, 2, -1));
  assert.is(kernel.virtualTime.hasTimers(), false, 'no timeout, no timer');
  put(p, w, 'go');
  assert.is(wait.result, 1);
  assert.equal(p.readEpollEvents(buf, 1), [{ events: EPOLLIN, dataLo: 5, dataHi: 0 }]);
  drain(p, r);
  const timed = parked(p.sys(SYS_epoll_wait, ep, buf, 2, 250));
  assert.is(kernel.virtualTime.hasTimers(), true);
  const before = kernel.clock.monotonicNs;
  assert.is(h.idle(), true);
  assert.is(timed.result, 0);
  assert.is(kernel.clock.monotonicNs - before, 250_000_000);
  assert.is(kernel.virtualTime.hasTimers(), false);
  assert.is(h.idle(), false, 'nothing left to fire');
  // An early answer disarms its timer.
  const early = parked(p.sys(SYS_epoll_wait, ep, buf, 2, 1000));
  put(p, w, 'x');
  assert.is(early.result, 1);
  assert.is(kernel.virtualTime.hasTimers(), false);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_epoll_wait, ep, buf, 2, -1)), 1);
  drain(p, r);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_epoll_wait, ep, buf, 2, -1)), -EAGAIN, 'it would wait');
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_epoll_wait, ep, buf, 2, 0)), 0, 'a zero timeout never waits');
});

test('epoll_wait argument errors', () => {
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

test('maxevents limits a report; level-triggered items rotate fairly', () => {
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

test('a closed descriptor leaves every epoll set', () => {
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

test('sockets: a listener is readable when a connection waits; a connection is writable', () => {
  const { p, q } = setup();
  const { l, c } = connected(p, q, 8001);
  const ep = epoll(p);
  ctl(p, ep, EPOLL_CTL_ADD, l, EPOLLIN);
  const buf = p.alloc(24, 4);
  const wait = parked(p.sys(SYS_epoll_wait, ep, buf, 2, -1));
  assert.is(now(q.sys(SYS_connect, c, q.sockaddr(8001), 16)), 0);
  assert.is(wait.result, 1);
  const s = now(p.sys(SYS_accept4, l, 0, 0, 0));
  assert.equal(ready(p, ep), [], 'accepted: nothing queued');
  ctl(p, ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT);
  assert.equal(ready(p, ep), [[EPOLLOUT, s]]);
  put(q, c, 'hi');
  assert.equal(ready(p, ep), [[EPOLLIN | EPOLLOUT, s]]);
});

test('poll: immediate answers, POLLNVAL, negative descriptors, files and stdio', () => {
  const { p } = setup();
  const [r, w] = pipe(p);
  const file = now(p.sys(SYS_openat, AT_FDCWD, p.cstr('/file'), O_RDWR, 0));
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
  assert.equal(p.revents(fds, 7), [0, POLLOUT, 0, POLLNVAL, POLLIN | POLLOUT, POLLIN, POLLOUT]);
  const none = p.pollfds([[r, POLLIN]]);
  assert.is(now(p.sys(SYS_poll, none, 1, 0)), 0);
  assert.equal(p.revents(none, 1), [0], 'revents cleared');
  now(p.sys(SYS_close, w));
  assert.is(now(p.sys(SYS_poll, none, 1, 0)), 1);
  assert.equal(p.revents(none, 1), [POLLHUP], 'POLLHUP is reported unasked');
});

test('poll waits for readiness or its virtual timeout', () => {
  const { h, kernel, p } = setup();
  const [r, w] = pipe(p);
  const fds = p.pollfds([[r, POLLIN | POLLRDHUP]]);
  const wait = parked(p.sys(SYS_poll, fds, 1, -1));
  put(p, w, 'x');
  assert.is(wait.result, 1);
  assert.equal(p.revents(fds, 1), [POLLIN]);
  drain(p, r);
  const timed = parked(p.sys(SYS_poll, fds, 1, 10));
  const t0 = kernel.clock.monotonicNs;
  assert.is(h.idle(), true);
  assert.is(timed.result, 0);
  assert.equal(p.revents(fds, 1), [0]);
  assert.is(kernel.clock.monotonicNs - t0, 10_000_000);
  // poll(NULL, 0, ms) is a sleep.
  const sleep = parked(p.sys(SYS_poll, 0, 0, 5));
  h.idle();
  assert.is(sleep.result, 0);
  // Closing a watched descriptor ends the wait with POLLNVAL.
  const watch = parked(p.sys(SYS_poll, fds, 1, -1));
  now(p.sys(SYS_close, r));
  assert.is(watch.result, 1);
  assert.equal(p.revents(fds, 1), [POLLNVAL]);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_poll, p.pollfds([[w, POLLOUT]]), 1, -1)), 1);
  const [r3] = pipe(p);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_poll, p.pollfds([[r3, POLLIN]]), 1, -1)), -EAGAIN);
});

test('poll argument errors and POLLERR', () => {
  const { p } = setup({ limits: { maxFds: 8 } });
  assert.is(now(p.sys(SYS_poll, p.alloc(80), 9, 0)), -EINVAL, 'more entries than descriptors allowed');
  assert.is(now(p.sys(SYS_poll, 0x7fff_fff0, 2, 0)), -EFAULT);
  const [r, w] = pipe(p);
  now(p.sys(SYS_close, r));
  const fds = p.pollfds([[w, POLLOUT]]);
  assert.is(now(p.sys(SYS_poll, fds, 1, 0)), 1);
  assert.equal(p.revents(fds, 1), [POLLOUT | POLLERR], 'no reader: POLLERR (a write would fail with EPIPE)');
});

test('cancelling a waiting epoll_wait and poll; closing the epoll descriptor', () => {
  const { kernel, p } = setup();
  const ep = epoll(p);
  const buf = p.alloc(24, 4);
  const wait = parked(p.sys(SYS_epoll_wait, ep, buf, 2, 100));
  assert.is(wait.cancel(), true);
  assert.is(wait.result, -ECANCELED);
  assert.is(kernel.virtualTime.hasTimers(), false, 'its timer is gone');
  const pl = parked(p.sys(SYS_poll, p.pollfds([[pipe(p)[0], POLLIN]]), 1, -1));
  assert.is(pl.cancel(), true);
  assert.is(pl.result, -ECANCELED);
  const onEp = parked(p.sys(SYS_epoll_wait, ep, buf, 2, -1));
  now(p.sys(SYS_close, ep));
  assert.is(onEp.result, -EBADF);
});

test('nested epoll: an epoll set is readable when it has events', () => {
  const { p } = setup();
  const inner = epoll(p);
  const outer = epoll(p);
  const [r, w] = pipe(p);
  ctl(p, inner, EPOLL_CTL_ADD, r, EPOLLIN);
  ctl(p, outer, EPOLL_CTL_ADD, inner, EPOLLIN, 77);
  assert.equal(ready(p, outer), []);
  const wait = parked(p.sys(SYS_epoll_wait, outer, p.alloc(24, 4), 2, -1));
  put(p, w, 'x');
  assert.is(wait.result, 1);
  assert.equal(ready(p, inner), [[EPOLLIN, r]]);
  const pfd = p.pollfds([[inner, POLLIN]]);
  assert.is(now(p.sys(SYS_poll, pfd, 1, 0)), 1);
});

test('a writable pipe end becomes ready again when a reader makes room', () => {
  const { p } = setup();
  const [r, w] = pipe(p);
  const [src] = p.data(new Uint8Array(PIPE_CAPACITY));
  assert.is(now(p.sys(SYS_write, w, src, PIPE_CAPACITY)), PIPE_CAPACITY);
  const fds = p.pollfds([[w, POLLOUT]]);
  const wait = parked(p.sys(SYS_poll, fds, 1, -1));
  drain(p, r, 100);
  assert.is(wait.done, false, 'room for less than PIPE_BUF is not writable');
  drain(p, r, 5000);
  assert.is(wait.result, 1);
});

test.run();
