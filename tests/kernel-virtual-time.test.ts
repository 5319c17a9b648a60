import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  EAGAIN,
  ECANCELED,
  EF_NOWAIT,
  EFAULT,
  EINVAL,
  SYS_clock_gettime,
  SYS_clock_nanosleep,
  SYS_nanosleep,
  TIMER_ABSTIME,
} from '../host/abi/v1.js';
import type { VirtualKernelOptions } from '../host/kernel/virtual/options.js';
import { CLOCK_READ_COST_NS, DEFAULT_EPOCH_MS, VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, parked, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<VirtualProcess>;
const fx = new Fixtures<VirtualProcess>({ close: false });

function setup(options: Partial<VirtualKernelOptions> = {}) {
  const kernel = new VirtualKernel({ kind: 'virtual', ...options });
  const h = fx.harness(kernel);
  return { kernel, h, p: h.spawn() };
}

const test = fx.guard(uvuTest);

function clock(p: P, id: number): { sec: number; nsec: number } {
  const tp = p.alloc(16);
  assert.is(now(p.sys(SYS_clock_gettime, id, tp)), 0);
  return p.readTimespec(tp);
}

const ns = (t: { sec: number; nsec: number }) => t.sec * 1e9 + t.nsec;

test('clock_gettime: realtime starts at the epoch option, monotonic at one second; reads cost 1 µs', () => {
  const { p } = setup();
  assert.equal(clock(p, CLOCK_REALTIME), { sec: DEFAULT_EPOCH_MS / 1000, nsec: 0 });
  assert.equal(clock(p, CLOCK_MONOTONIC), { sec: 1, nsec: CLOCK_READ_COST_NS });
  assert.equal(clock(p, CLOCK_REALTIME), { sec: DEFAULT_EPOCH_MS / 1000, nsec: 2 * CLOCK_READ_COST_NS });
  const a = ns(clock(p, CLOCK_MONOTONIC));
  const b = ns(clock(p, CLOCK_MONOTONIC));
  assert.is(b - a, CLOCK_READ_COST_NS);
  const { p: q } = setup({ epochMs: 1_000_000_123_456 });
  assert.equal(clock(q, CLOCK_REALTIME), { sec: 1_000_000_123, nsec: 456_000_000 });
});

test('clock_gettime errors', () => {
  const { kernel, p } = setup();
  const t0 = kernel.clock.monotonicNs;
  assert.is(now(p.sys(SYS_clock_gettime, 99, p.alloc(16))), -EINVAL);
  assert.is(now(p.sys(SYS_clock_gettime, CLOCK_REALTIME, 0x7fff_fff8)), -EFAULT);
  assert.is(kernel.clock.monotonicNs, t0, 'failed reads cost nothing');
});

test('nanosleep waits until idle() moves the clock to its deadline', () => {
  const { h, kernel, p } = setup();
  assert.is(kernel.virtualTime.hasTimers(), false);
  const t0 = kernel.clock.monotonicNs;
  const sleep = parked(p.sys(SYS_nanosleep, p.timespec(2, 500), 0));
  assert.is(kernel.virtualTime.hasTimers(), true);
  assert.is(sleep.done, false);
  assert.is(h.idle(), true);
  assert.is(sleep.result, 0);
  assert.is(kernel.clock.monotonicNs - t0, 2_000_000_500, 'time jumped exactly to the deadline');
  assert.is(kernel.virtualTime.hasTimers(), false);
  assert.is(h.idle(), false);
});

test('nanosleep: zero completes at once; bad timespecs are EINVAL; bad pointers EFAULT', () => {
  const { p } = setup();
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 0), 0)), 0);
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 1_000_000_000), 0)), -EINVAL);
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, -1), 0)), -EINVAL);
  assert.is(now(p.sys(SYS_nanosleep, p.timespec(-1, 0), 0)), -EINVAL);
  assert.is(now(p.sys(SYS_nanosleep, 0x7fff_fff8, 0)), -EFAULT);
  assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_nanosleep, p.timespec(1, 0), 0)), -EAGAIN);
});

test('sleepers wake in deadline order, ties in arrival order', () => {
  const { h, kernel, p } = setup();
  const q = h.spawn();
  const c = parked(p.sys(SYS_nanosleep, p.timespec(3, 0), 0));
  const a1 = parked(q.sys(SYS_nanosleep, q.timespec(1, 0), 0));
  const a2 = parked(p.sys(SYS_nanosleep, p.timespec(1, 0), 0));
  const b = parked(q.sys(SYS_nanosleep, q.timespec(2, 0), 0));
  const t0 = kernel.clock.monotonicNs;
  assert.is(h.idle(), true);
  assert.equal([a1.done, a2.done, b.done, c.done], [true, true, false, false], 'both 1 s sleepers at once');
  assert.ok(a1.completedAt < a2.completedAt, 'in the order they went to sleep');
  assert.is(kernel.clock.monotonicNs - t0, 1e9);
  assert.is(h.idle(), true);
  assert.equal([b.done, c.done], [true, false]);
  assert.is(h.idle(), true);
  assert.is(c.result, 0);
  assert.is(kernel.clock.monotonicNs - t0, 3e9);
});

test('clock_nanosleep: relative, absolute monotonic and absolute realtime; past deadlines return at once', () => {
  const { h, kernel, p } = setup();
  assert.is(now(p.sys(SYS_clock_nanosleep, 5, 0, p.timespec(1, 0), 0)), -EINVAL, 'unsupported clock');
  assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(0, 2e9), 0)), -EINVAL);
  const rel = parked(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(0, 1000), 0));
  h.idle();
  assert.is(rel.result, 0);
  const mono = kernel.clock.monotonicNs;
  const target = mono + 5e9;
  const abs = parked(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, p.timespec(Math.floor(target / 1e9), target % 1e9), 0));
  h.idle();
  assert.is(abs.result, 0);
  assert.is(kernel.clock.monotonicNs, target);
  const rt = kernel.clock.realtime();
  const real = parked(p.sys(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, p.timespec(rt.sec + 10, rt.nsec), 0));
  const before = kernel.clock.monotonicNs;
  h.idle();
  assert.is(real.result, 0);
  assert.is(kernel.clock.monotonicNs - before, 10e9);
  assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, p.timespec(0, 5), 0)), 0, 'already past');
  assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, p.timespec(1, 0), 0)), 0);
});

test('cancelling a sleep answers ECANCELED and stores the time left; a finished sleep cannot be cancelled', () => {
  const { h, kernel, p } = setup();
  const rem = p.timespec(-7, -7);
  const sleep = parked(p.sys(SYS_nanosleep, p.timespec(10, 0), rem));
  assert.ok(sleep.cancellable);
  for (let i = 0; i < 1000; i++) clock(p, CLOCK_MONOTONIC);
  assert.is(sleep.cancel(), true);
  assert.is(sleep.result, -ECANCELED);
  assert.equal(p.readTimespec(rem), { sec: 9, nsec: 999_000_000 }, '1000 clock reads took 1 ms');
  assert.is(kernel.virtualTime.hasTimers(), false, 'the timer went with it');
  const rem2 = p.timespec(-7, -7);
  const rel = parked(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(1, 0), rem2));
  assert.is(rel.cancel(), true);
  assert.equal(p.readTimespec(rem2), { sec: 1, nsec: 0 });
  const done = parked(p.sys(SYS_nanosleep, p.timespec(0, 10), 0));
  h.idle();
  assert.is(done.result, 0);
  assert.is(done.cancel(), false, 'cancel after completion loses');
  assert.is(done.result, 0);
});

test('busy-waiting on the clock lets virtual time pass and fires due timers', () => {
  const { h, p } = setup();
  const q = h.spawn();
  const sleep = parked(q.sys(SYS_nanosleep, q.timespec(0, 10 * CLOCK_READ_COST_NS), 0));
  const start = ns(clock(p, CLOCK_MONOTONIC));
  let reads = 1;
  while (!sleep.done) {
    clock(p, CLOCK_MONOTONIC);
    reads++;
    assert.ok(reads < 100, 'the loop ends');
  }
  assert.is(sleep.result, 0);
  assert.is(reads, 10);
  assert.ok(ns(clock(p, CLOCK_MONOTONIC)) - start >= 10 * CLOCK_READ_COST_NS);
});

test('huge sleeps do not overflow', () => {
  const { kernel, p } = setup();
  const sleep = parked(p.sys(SYS_nanosleep, p.timespec(2 ** 40, 0), 0));
  assert.is(kernel.virtualTime.hasTimers(), true);
  assert.is(sleep.cancel(), true);
});

test.run();
