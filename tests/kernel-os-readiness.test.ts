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
