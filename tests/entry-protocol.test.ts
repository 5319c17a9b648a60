// The host half of the entry protocol, driven step by step: claiming, ordering, completion,
// cancellation racing completion, forwarding between syscall threads, and hostile entries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ST_DONE, ST_BUSY, ST_SUBMITTED, ECANCELED, EAGAIN, EIO, ENOENT, hostLineW, threadLineW, entryW, TW_SQ_TAIL, HW_CANCEL_WON, HW_CANCEL_LOST, HW_NOTIFIES,
  HW_BATCHES, HW_CLAIMED, EW_SEQ, EW_STATUS, EW_HOST, CW_SHIM_SEQ, C_SHIM_ENTRY, E_SYSNO, E_ARG0, E_THREAD,
  E_RET,
} from '../host/abi/v1.js';
import { DEFAULT_LIMITS, PENDING, type Limits } from '../host/kernel/kernel.js';
import { SysError } from '../host/errors.js';
import { ServedGuest } from '../host/syscall/served-guest.js';
import { SyscallThread } from '../host/syscall/syscall-thread.js';
import { VmShared } from '../host/syscall/vm-shared.js';
import { FakeGuest } from './helpers/fake-guest.js';
import { ScriptKernel } from './helpers/script-kernel.js';

function setup(pages = 2, threads = 1, limits: Limits = DEFAULT_LIMITS) {
  const guest = new FakeGuest(pages, threads);
  const layout = guest.register();
  const kernel = new ScriptKernel();
  const shared = VmShared.create(threads);
  const logs: string[] = [];
  const make = (index: number, k: ScriptKernel | null) => {
    const thread = new SyscallThread({ index, count: threads, kernel: k, shared, spinUs: 0, limits, autoRun: false, log: (m) => logs.push(m) });
    thread.attach(new ServedGuest(1, 100, 'fake', guest.mem, layout, threads, index, true, k ? {} : null));
    return thread;
  };
  const thread = make(0, kernel);
  return { guest, kernel, thread, logs, make };
}

function hostCounter(guest: FakeGuest, t: number, word: number): number {
  return Atomics.load(guest.i32, hostLineW(guest.ctrl, t) + word);
}

test('a posted entry is claimed, run and completed with its result; its done bit and completions move', () => {
  const { guest, kernel, thread } = setup();
  const i = guest.post(0, 39, [1234]);
  const before = guest.completions();
  assert.is(thread.pass(), 1);
  assert.is(kernel.seen.length, 1);
  assert.is(kernel.seen[0]!.sysno, 39);
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), 1234);
  assert.ok(guest.doneBit(i));
  assert.is(guest.completions(), before + 1);
  assert.is(hostCounter(guest, 0, HW_CLAIMED), 1);
  assert.is(hostCounter(guest, 0, HW_BATCHES), 1);
  assert.is(thread.pass(), 0, 'nothing new: no work');
});

test('entries run in submission order, whatever their position in the pages', () => {
  const { guest, kernel, thread } = setup(2);
  for (const [index, tag] of [[70, 1], [3, 2], [64, 3], [0, 4], [127, 5]] as const) guest.post(0, 1, [tag], 0, index);
  assert.is(thread.pass(), 5);
  assert.equal(kernel.seen.map((c) => c.a0), [1, 2, 3, 4, 5]);
});

test('an entry submitted but not yet published is found on a later pass (its bit is carried over)', () => {
  const { guest, kernel, thread } = setup();
  const first = guest.post(0, 39, [1]);
  // A second entry that is SUBMITTED with the next seq, while sq_tail still says one entry.
  const second = guest.post(0, 39, [2]);
  const tailWord = threadLineW(guest.ctrl, 0) + TW_SQ_TAIL;
  Atomics.store(guest.i32, tailWord, 1);
  assert.is(thread.pass(), 1);
  assert.is(guest.status(first), ST_DONE);
  assert.is(guest.status(second), ST_SUBMITTED, 'not published: not taken');
  Atomics.store(guest.i32, tailWord, 2); // publish without setting its bit again
  assert.is(thread.pass(), 1);
  assert.is(guest.status(second), ST_DONE);
  assert.equal(kernel.seen.map((c) => c.a0), [1, 2]);
});

test('64-bit and negative results travel as lo/hi words', () => {
  const { guest, kernel, thread } = setup();
  kernel.answer = (c) => (c.a0 === 1 ? 2 ** 40 + 5 : -ENOENT);
  const big = guest.post(0, 8, [1]);
  const err = guest.post(0, 8, [2]);
  thread.pass();
  assert.is(guest.result(big), 2 ** 40 + 5);
  assert.is(guest.result(err), -ENOENT);
});

test('cancellation before the claim: answered -ECANCELED and never run', () => {
  const { guest, kernel, thread } = setup();
  const i = guest.post(0, 0, [7]);
  assert.ok(guest.cancel(i));
  thread.pass();
  assert.is(kernel.seen.length, 0);
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), -ECANCELED);
  assert.is(hostCounter(guest, 0, HW_CANCEL_WON), 1);
});

test('cancellation of a parked call wins: the kernel is interrupted', () => {
  const { guest, kernel, thread } = setup();
  kernel.answer = () => PENDING;
  const i = guest.post(0, 0, [7]);
  thread.pass();
  assert.is(guest.status(i), ST_BUSY);
  assert.ok(guest.cancel(i));
  thread.pass();
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), -ECANCELED);
  assert.is(kernel.parked.length, 0);
  assert.is(hostCounter(guest, 0, HW_CANCEL_WON), 1);
});

test('cancellation racing completion: the call finished first, its result stands (aio_cancel semantics)', () => {
  const { guest, kernel, thread } = setup();
  kernel.answer = () => PENDING;
  kernel.uninterruptible = true;
  const i = guest.post(0, 0, [7]);
  thread.pass();
  assert.ok(guest.cancel(i), 'BUSY -> CANCEL');
  thread.pass(); // sees CANCEL, cannot interrupt
  assert.is(guest.status(i), 4);
  kernel.release(42);
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), 42);
  assert.is(hostCounter(guest, 0, HW_CANCEL_LOST), 1);
});

test('cancellation after completion is too late: the entry stays DONE with its result', () => {
  const { guest, thread } = setup();
  const i = guest.post(0, 39, [9]);
  thread.pass();
  assert.not.ok(guest.cancel(i));
  assert.is(guest.result(i), 9);
});

test('a kernel that throws fails only that call: SysError -> -errno, anything else -> -EIO', () => {
  const { guest, kernel, thread, logs } = setup();
  kernel.answer = (c) => {
    if (c.a0 === 1) throw new SysError(ENOENT);
    throw new TypeError('kernel bug');
  };
  const a = guest.post(0, 2, [1]);
  const b = guest.post(0, 2, [2]);
  thread.pass();
  assert.is(guest.result(a), -ENOENT);
  assert.is(guest.result(b), -EIO);
  assert.ok(logs.some((l) => l.includes('kernel bug')));
});

test('past the cap on calls in flight, new calls fail with -EAGAIN', () => {
  const { guest, kernel, thread } = setup(2, 1, { ...DEFAULT_LIMITS, maxPending: 2 });
  kernel.answer = () => PENDING;
  const calls = [0, 1, 2].map(() => guest.post(0, 0));
  thread.pass();
  assert.is(guest.status(calls[0]!), ST_BUSY);
  assert.is(guest.status(calls[1]!), ST_BUSY);
  assert.is(guest.result(calls[2]!), -EAGAIN);
});

test('the waiting guest is notified; a busy one is not', () => {
  const { guest, thread } = setup();
  guest.post(0, 39);
  thread.pass();
  assert.is(hostCounter(guest, 0, HW_NOTIFIES), 0);
  guest.setWaiting(true);
  guest.post(0, 39);
  thread.pass();
  assert.is(hostCounter(guest, 0, HW_NOTIFIES), 1);
});

test('a hostile tail (far beyond the entries) is survived and logged', () => {
  const { guest, thread, logs } = setup();
  Atomics.store(guest.i32, threadLineW(guest.ctrl, 0) + TW_SQ_TAIL, 0x40000000);
  assert.not.throws(() => thread.pass());
  assert.ok(logs.some((l) => l.includes('resynchronising')));
  // The thread goes on with the next honest entry.
  const seqWord = entryW(guest.pagesPtr, 5) + EW_SEQ;
  guest.post(0, 39, [3], 0, 5);
  Atomics.store(guest.i32, seqWord, 0x40000000);
  Atomics.store(guest.i32, threadLineW(guest.ctrl, 0) + TW_SQ_TAIL, 0x40000001);
  thread.pass();
  assert.is(guest.status(5), ST_DONE);
});

test('an entry stranded behind a jumped tail is still answered when cancelled, whatever the host saw first', () => {
  const { guest, kernel, thread } = setup();
  // The guest jumps its tail far ahead, posts behind the value it will publish, and cancels that
  // entry; the host sees the cancel first, then the jumped tail, and resynchronises at it.
  guest.jumpTail(0, 0x4000_0000);
  const i = guest.post(0, 39, [1], 0, undefined, false);
  assert.ok(guest.cancel(i));
  thread.pass();
  guest.publishTail(0);
  thread.pass();
  thread.pass();
  assert.is(guest.status(i), ST_DONE, 'judged against the tail it resynchronised at, not the one before');
  assert.is(guest.result(i), -ECANCELED);
  assert.is(kernel.seen.length, 0);
});

test('a cancel is answered whatever the guest wrote into the entry\'s host word (the claim bookkeeping is the host\'s own)', () => {
  const { guest, kernel, thread } = setup();
  const i = guest.post(0, 39, [1], 0, undefined, false);
  // A stray write of the guest's own lands on the word the ABI reserves for the host.
  Atomics.store(guest.i32, entryW(guest.pagesPtr, i) + EW_HOST, 0x2edb_0000);
  assert.ok(guest.cancel(i));
  guest.publishTail(0);
  thread.pass();
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), -ECANCELED);
  assert.is(kernel.seen.length, 0);
});

test('entries with garbage status or fields are ignored, not fatal', () => {
  const { guest, kernel, thread } = setup();
  for (let i = 0; i < 64; i++) Atomics.store(guest.i32, entryW(guest.pagesPtr, i) + EW_STATUS, 0x7777 + i);
  const i = guest.post(0, 39, [1], 0, 10);
  assert.not.throws(() => thread.pass());
  assert.is(guest.status(i), ST_DONE);
  assert.is(kernel.seen.length, 1);
});

test('a forwarding thread claims its pages and the home thread executes, keeping the descriptor class', () => {
  const { guest, kernel, thread: home, make } = setup(2, 2);
  const forwarder = make(1, null);
  const i = guest.post(1, 39, [77]);
  assert.is(home.pass(), 0, 'page 1 belongs to thread 1');
  assert.is(forwarder.pass(), 1);
  assert.is(guest.status(i), ST_BUSY);
  assert.is(home.pass(), 1);
  assert.is(guest.status(i), ST_DONE);
  assert.is(guest.result(i), 77);
  assert.is(kernel.seen[0]!.thread, 1);
});

test('a cancellation seen by a forwarding thread reaches the call running on the home thread', () => {
  const { guest, kernel, thread: home, make } = setup(2, 2);
  const forwarder = make(1, null);
  kernel.answer = () => PENDING;
  const i = guest.post(1, 0);
  forwarder.pass();
  home.pass();
  assert.is(kernel.parked.length, 1);
  guest.cancel(i);
  forwarder.pass();
  home.pass();
  assert.is(guest.result(i), -ECANCELED);
});

test('the shim entry runs on the thread it names', () => {
  const { guest, kernel, thread } = setup();
  const w = guest.ctrl + C_SHIM_ENTRY;
  guest.mem.setI32(w + E_SYSNO, 39);
  guest.mem.setI32(w + E_ARG0, 55);
  guest.mem.setI32(w + E_THREAD, 0);
  Atomics.store(guest.i32, (w >>> 2) + EW_STATUS, ST_SUBMITTED);
  Atomics.add(guest.i32, (guest.ctrl >>> 2) + CW_SHIM_SEQ, 1);
  thread.pass();
  assert.is(kernel.seen[0]!.a0, 55);
  assert.is(guest.mem.i32At(w + E_RET), 55);
  assert.is(Atomics.load(guest.i32, (w >>> 2) + EW_STATUS), ST_DONE);
});

test('after detach the guest is forgotten and late completions are dropped', () => {
  const { guest, kernel, thread } = setup();
  kernel.answer = () => PENDING;
  const i = guest.post(0, 0);
  thread.pass();
  thread.detach(1);
  assert.is(kernel.detached, 1);
  kernel.release(5);
  assert.is(guest.status(i), ST_BUSY, 'nothing written for a guest that left');
});

test.run();
