/**
 * Time, on every kernel: clock_gettime, nanosleep and clock_nanosleep (relative and absolute),
 * their argument errors, EF_NOWAIT, and cancelling a sleep (the time left is stored). On the virtual
 * kernel time passes only while every guest waits (settled() lets it); its exact virtual-time
 * behaviour is in kernel-virtual-time.test.ts.
 */
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
import { conformance, type CaseScope } from './helpers/conformance.js';
import { now, parked, settled, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<unknown>;

/** The host's own clocks: the virtual kernel's start at its epoch option and move only when idle. */
const REAL_TIME: CaseScope = { kernels: ['os', 'native'], why: 'the host\'s clocks and real sleeps: virtual time is its own' };

function clock(p: P, id: number): { sec: number; nsec: number } {
  const tp = p.alloc(16);
  assert.is(now(p.sys(SYS_clock_gettime, id, tp)), 0);
  return p.readTimespec(tp);
}

const ns = (t: { sec: number; nsec: number }) => t.sec * 1e9 + t.nsec;

await conformance('time', (test, subject) => {
  const setup = () => subject.setup();

  test('clock_gettime errors', async () => {
    const { p } = setup();
    assert.is(now(p.sys(SYS_clock_gettime, 99, p.alloc(16))), -EINVAL);
    assert.is(now(p.sys(SYS_clock_gettime, CLOCK_REALTIME, 0x7fff_fff8)), -EFAULT);
  });

  test('nanosleep: zero completes at once; bad timespecs are EINVAL; bad pointers EFAULT', async () => {
    const { p } = setup();
    assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 0), 0)), 0);
    assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, 1_000_000_000), 0)), -EINVAL);
    assert.is(now(p.sys(SYS_nanosleep, p.timespec(0, -1), 0)), -EINVAL);
    assert.is(now(p.sys(SYS_nanosleep, p.timespec(-1, 0), 0)), -EINVAL);
    assert.is(now(p.sys(SYS_nanosleep, 0x7fff_fff8, 0)), -EFAULT);
    assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_nanosleep, p.timespec(1, 0), 0)), -EAGAIN);
  });

  test('a sleep waits, and the monotonic clock moves by at least its length', async () => {
    const { p } = setup();
    const t0 = ns(clock(p, CLOCK_MONOTONIC));
    const sleep = parked(p.sys(SYS_nanosleep, p.timespec(0, 20_000_000), 0));
    assert.is(await settled(sleep), 0);
    assert.ok(ns(clock(p, CLOCK_MONOTONIC)) - t0 >= 20_000_000);
  });

  test('clock_nanosleep: relative, absolute monotonic and absolute realtime; past deadlines return at once', async () => {
    const { p } = setup();
    assert.is(now(p.sys(SYS_clock_nanosleep, 5, 0, p.timespec(1, 0), 0)), -EINVAL, 'unsupported clock');
    assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(0, 2e9), 0)), -EINVAL);
    // (A real kernel may answer a 1 µs sleep at once: its timer is due by the time it looks.)
    assert.is(await settled(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(0, 1000), 0)), 0);
    const target = ns(clock(p, CLOCK_MONOTONIC)) + 15_000_000;
    const abs = p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, p.timespec(Math.floor(target / 1e9), target % 1e9), 0);
    assert.is(await settled(abs), 0);
    const wokeMono = ns(clock(p, CLOCK_MONOTONIC));
    assert.ok(wokeMono >= target, `woke ${target - wokeMono} ns before its deadline`);
    const rt = ns(clock(p, CLOCK_REALTIME)) + 15_000_000;
    const real = p.sys(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, p.timespec(Math.floor(rt / 1e9), rt % 1e9), 0);
    assert.is(await settled(real), 0);
    const woke = ns(clock(p, CLOCK_REALTIME));
    assert.ok(woke >= rt, `realtime woke ${rt - woke} ns early`);
    assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, p.timespec(0, 5), 0)), 0, 'already past');
    assert.is(now(p.sys(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, p.timespec(1, 0), 0)), 0);
  });

  test('cancelling a sleep answers ECANCELED and stores the time left; a finished sleep cannot be cancelled', async () => {
    const { p } = setup();
    const rem = p.timespec(-7, -7);
    const sleep = parked(p.sys(SYS_nanosleep, p.timespec(10, 0), rem));
    assert.ok(sleep.cancellable);
    assert.is(sleep.cancel(), true);
    assert.is(await settled(sleep), -ECANCELED);
    const left = ns(p.readTimespec(rem));
    assert.ok(left > 9e9 && left <= 10e9, `time left: ${left} ns`);
    const rem2 = p.timespec(-7, -7);
    const rel = parked(p.sys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p.timespec(1, 0), rem2));
    assert.is(rel.cancel(), true);
    const left2 = ns(p.readTimespec(rem2));
    assert.ok(left2 > 0.9e9 && left2 <= 1e9, `time left: ${left2} ns`);
    // 20 ms: long enough to be seen waiting on a loaded machine (a 1 ms sleep on the native kernel
    // could end before the call was observed parked).
    const done = parked(p.sys(SYS_nanosleep, p.timespec(0, 20_000_000), 0));
    assert.is(await settled(done), 0);
    assert.is(done.cancel(), false, 'cancel after completion loses');
    assert.is(done.result, 0);
  });

  test('huge sleeps do not overflow', async () => {
    const { p } = setup();
    const sleep = parked(p.sys(SYS_nanosleep, p.timespec(2 ** 40, 0), 0));
    assert.is(sleep.cancel(), true);
    assert.is(await settled(sleep), -ECANCELED);
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
    assert.is((await settled(long)), -ECANCELED);
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
  }, REAL_TIME);
});
