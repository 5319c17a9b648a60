import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EAGAIN,
  EF_NOWAIT,
  EPOLLIN,
  EPOLL_CTL_ADD,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLRDHUP,
  SYS_close,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_poll,
  SYS_read,
  SYS_write,
} from '../host/abi/v1.js';
import { VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
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


const put = (p: P, fd: number, text: string) => now(p.sys(SYS_write, fd, ...p.data(text)));
const drain = (p: P, fd: number, n = 4096) => now(p.sys(SYS_read, fd, p.alloc(n), n));


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

test.run();
