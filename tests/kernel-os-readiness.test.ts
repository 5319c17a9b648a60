import * as net from 'node:net';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  EAGAIN,
  EBADF,
  ECANCELED,
  EEXIST,
  EF_NOWAIT,
  EINVAL,
  ENOENT,
  ENOSYS,
  EPIPE,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLLOUT,
  EPOLLRDHUP,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  O_NONBLOCK,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_clock_gettime,
  SYS_clock_nanosleep,
  SYS_close,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_getpid,
  SYS_getrandom,
  SYS_getsockname,
  SYS_listen,
  SYS_nanosleep,
  SYS_openat,
  SYS_pipe2,
  SYS_poll,
  SYS_read,
  SYS_socket,
  SYS_write,
  TIMER_ABSTIME,
  AT_FDCWD,
  O_RDONLY,
} from '../host/abi/v1.js';
import { OsKernel, PIPE_CAPACITY, type OsProcess } from '../host/kernel/os/index.js';
import { pipe } from './helpers/kernel-calls.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, settled, until, within, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });

const test = fx.guard(uvuTest);

function setup(colocated = false) {
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated, log: () => {} });
  const h = fx.harness(k);
  return { h, p: h.spawn({ pid: 4242, stdin: 'in' }) };
}

const write = (p: P, fd: number, text: string | Uint8Array, flags = 0) => {
  const [ptr, len] = p.data(text);
  return p.sysWith({ flags }, SYS_write, fd, ptr, len);
};

async function connection(p: P) {
  const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  now(p.sys(SYS_bind, l, p.sockaddr(0), 16));
  now(p.sys(SYS_listen, l, 8));
  const addr = p.alloc(16);
  now(p.sys(SYS_getsockname, l, addr, p.int(16)));
  const c = net.connect({ port: p.readSockaddr(addr).port, host: '127.0.0.1', allowHalfOpen: true });
  c.on('error', () => {});
  fx.peer(c);
  const fd = await settled(p.sys(SYS_accept4, l, 0, 0, 0));
  await within(new Promise((r) => (c.readyState === 'open' ? r(null) : c.once('connect', r))), 5000);
  return { l, fd, c };
}

function wait(p: P, ep: number, max = 8, timeout = -1, flags = 0) {
  const buf = p.alloc(12 * max);
  const r = p.sysWith({ flags }, SYS_epoll_wait, ep, buf, max, timeout);
  return { r, events: (n: number) => p.readEpollEvents(buf, n) };
}

test('epoll on a real socket: level-triggered, edge-triggered, one-shot, RDHUP', async () => {
  const { p } = setup();
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
});

test('epoll: writability, errors, closed descriptors leave the set, timeouts, cancellation', async () => {
  const { p } = setup();
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
  assert.is(forever.result, -ECANCELED);
  const closing = parked(wait(p, ep).r);
  assert.is(now(p.sys(SYS_close, ep)), 0);
  assert.is(closing.result, -EBADF);
  assert.is(now(p.sys(SYS_epoll_create1, 1)), -EINVAL);
  assert.is(now(p.sys(SYS_epoll_wait, 0, p.alloc(12), 1, 0)), -EINVAL, 'not an epoll set');
  assert.is(now(p.sys(SYS_epoll_wait, 99, p.alloc(12), 1, 0)), -EBADF);
  const ep2 = now(p.sys(SYS_epoll_create1, 0));
  assert.is(now(p.sys(SYS_epoll_wait, ep2, p.alloc(12), 0, 0)), -EINVAL);
  assert.is(now(p.sys(SYS_epoll_ctl, ep2, EPOLL_CTL_ADD, ep2, p.epollEvent(EPOLLIN))), -EINVAL);
});

test('epoll on pipes and the listener: a queued connection is readable', async () => {
  const { p } = setup();
  const [r, w] = pipe(p);
  const ep = now(p.sys(SYS_epoll_create1, 0));
  now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, r, p.epollEvent(EPOLLIN, 1)));
  now(p.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, w, p.epollEvent(EPOLLOUT, 2)));
  const first = wait(p, ep, 8, 0);
  assert.is(now(first.r), 1);
  assert.is(first.events(1)[0]!.dataLo, 2);
  now(write(p, w, 'x'));
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
  fx.peer(c);
  assert.is(await settled(pending), 1);
  assert.ok(now(p.sysWith({ flags: EF_NOWAIT }, SYS_accept4, l, 0, 0, 0)) >= 0);
});

test('poll on sockets and pipes: readiness, POLLNVAL, timeouts, cancellation', async () => {
  const { p } = setup();
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
  assert.is(cancelled.result, -ECANCELED);
  const closed = parked(p.sys(SYS_poll, quiet, 1, -1));
  now(p.sys(SYS_close, r));
  assert.is(closed.result, 1);
  assert.equal(p.revents(quiet, 1), [POLLNVAL], 'closed while polled');
  now(p.sys(SYS_close, w));
  const eof = p.pollfds([[fd, POLLIN]]);
  c.end();
  now(p.sys(SYS_read, fd, p.alloc(4), 4));
  await until(() => now(p.sys(SYS_poll, eof, 1, 0)) === 1 && (p.revents(eof, 1)[0]! & POLLIN) !== 0);
  assert.is(now(p.sys(SYS_poll, p.alloc(8), 1 << 30, 0)), -EINVAL);
});

test('clocks are real; sleeps take real time and can be cancelled', async () => {
  const { p } = setup();
  const ts = p.alloc(16);
  assert.is(now(p.sys(SYS_clock_gettime, CLOCK_REALTIME, ts)), 0);
  const real = p.readTimespec(ts);
  assert.ok(Math.abs(real.sec * 1000 + real.nsec / 1e6 - Date.now()) < 1000, 'realtime is the host clock');
  assert.is(now(p.sys(SYS_clock_gettime, CLOCK_MONOTONIC, ts)), 0);
  const m1 = p.readTimespec(ts);
  assert.is(await settled(p.sys(SYS_nanosleep, p.timespec(0, 20_000_000), 0)), 0);
  now(p.sys(SYS_clock_gettime, CLOCK_MONOTONIC, ts));
  const m2 = p.readTimespec(ts);
  const slept = (m2.sec - m1.sec) * 1e3 + (m2.nsec - m1.nsec) / 1e6;
  assert.ok(slept >= 20, `slept ${slept} ms`);
  assert.is(now(p.sys(SYS_clock_gettime, 99, ts)), -EINVAL);
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 2e9), 0)), -EINVAL);
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 0), 0)), 0);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_nanosleep, p.timespec(1, 0), 0)), -EAGAIN);

  const rem = p.alloc(16);
  const long = parked(p.sys(SYS_nanosleep, p.timespec(60, 0), rem));
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(long.cancel());
  assert.is(long.result, -ECANCELED);
  const left = p.readTimespec(rem);
  assert.ok(left.sec >= 58 && left.sec <= 59, `remaining ${left.sec}s`);

  now(p.sys(SYS_clock_gettime, CLOCK_MONOTONIC, ts));
  const t = p.readTimespec(ts);
  const abs = p.timespec(t.sec, t.nsec);
  p.setI64(abs + 8, t.nsec + 15_000_000 >= 1e9 ? t.nsec + 15_000_000 - 1e9 : t.nsec + 15_000_000);
  if (t.nsec + 15_000_000 >= 1e9) p.setI64(abs, t.sec + 1);
  const t0 = Date.now();
  assert.is(await settled(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, abs, 0)), 0);
  assert.ok(Date.now() - t0 >= 10);
  assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, p.timespec(1, 0), 0)), 0, 'in the past');
  assert.is(now(p.sys(SYS_clock_nanosleep, 12, 0, p.timespec(1, 0), 0)), -EINVAL);
});

test('getpid, getrandom, stdio, unknown calls', async () => {
  const { p } = setup();
  assert.is(now(p.sys(SYS_getpid)), 4242);
  const buf = p.alloc(64);
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0)), 64);
  const a = p.bytes(buf, 64);
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0)), 64);
  assert.not.equal(a, p.bytes(buf, 64), 'random');
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0x40)), -EINVAL);
  assert.is(now(p.sys(SYS_getrandom, 0x7fff_fff0, 64, 0)), -14);
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 2);
  assert.is(p.string(buf, 2), 'in');
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 0);
  assert.is(now(write(p, 1, 'to stdout')), 9);
  assert.is(p.text(1), 'to stdout');
  assert.is(now(p.sys(9999)), -ENOSYS);
  assert.is(now(p.sys(-1)), -ENOSYS);
  assert.is(now(p.sys(SYS_epoll_ctl, 0, EPOLL_CTL_ADD, 1, p.epollEvent(EPOLLIN))), -EINVAL, 'fd 0 is not an epoll set');
});

test.run();
