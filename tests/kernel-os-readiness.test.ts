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
