// Any syscall thread serves any thread line (work stealing), and flexvm.wait's inline runs on the
// guest's own thread: who runs an entry changes, the protocol does not. A line's entries still start
// in seq order (one runner holds a line for its whole batch), an entry runs once, and a cancellation
// reaches the call wherever it parked.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ST_BUSY, ST_DONE, ECANCELED, HW_CLAIMED, HW_CANCEL_WON, TW_NEEDS_WAKEUP, TW_DOORBELL, C_COMPLETIONS, hostLineW, threadLineW,
  SYS_getpid, SYS_pipe2, SYS_read, SYS_write,
} from '../host/abi/v1.js';
import { FakeGuest } from './helpers/fake-guest.js';
import { addon, native, nativeTest } from './helpers/native.js';

const t = nativeTest();
const SCRATCH = 400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  guest: FakeGuest;
  ex: number;
}
const open: Setup[] = [];

/** A fake guest on `threads` lines and an executor of as many threads; `env` is set while the executor is made. */
function setup(threads: number, env: Record<string, string> = {}): Setup {
  const guest = new FakeGuest(4, threads);
  const layout = guest.register(0, 4242);
  const a = addon();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const ex = a.createExecutor(threads, 50, 50, false);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  a.attach(ex, guest.memory.buffer as SharedArrayBuffer, {
    gid: 1, pid: 4242, name: 'fake', ctrl: layout.ctrl, pagesPtr: layout.pagesPtr, pageCount: layout.pageCount, threads,
    maxFds: 1024, maxPending: 1024, listenAny: false, grants: [], stdio: [-1, -1, -1],
  });
  const s = { guest, ex };
  open.push(s);
  return s;
}

function teardown(): void {
  while (open.length) {
    const s = open.pop()!;
    addon().detach(s.ex, 1);
    addon().destroyExecutor(s.ex);
  }
}

/** The word index of field `word` (TW_*) of thread line `thread`. */
function line(g: FakeGuest, thread: number, word: number): number {
  return threadLineW(g.ctrl, thread) + word;
}

/** Rings thread `thread`'s doorbell as libflexsc does (only when it said it sleeps). */
function ring(g: FakeGuest, thread: number): void {
  if (Atomics.load(g.i32, line(g, thread, TW_NEEDS_WAKEUP)) === 0) return;
  Atomics.add(g.i32, line(g, thread, TW_DOORBELL), 1);
  addon().wake(g.memory.buffer as SharedArrayBuffer, line(g, thread, TW_DOORBELL) * 4);
}

/** Waits until every syscall thread said it sleeps (needs_wakeup set on its line). */
async function allAsleep(g: FakeGuest, threads: number): Promise<void> {
  const until = Date.now() + 2000;
  for (;;) {
    let all = true;
    for (let k = 0; k < threads; k++) all &&= Atomics.load(g.i32, line(g, k, TW_NEEDS_WAKEUP)) !== 0;
    // The flag goes up just before a thread's last look at its line: give it time to be asleep.
    if (all) {
      await sleep(20);
      return;
    }
    if (Date.now() > until) throw new Error('the syscall threads never went to sleep');
    await sleep(2);
  }
}

async function settle(g: FakeGuest, index: number, ms = 2000): Promise<number> {
  const until = Date.now() + ms;
  while (g.status(index) !== ST_DONE) {
    if (Date.now() > until) throw new Error(`entry ${index} not DONE after ${ms} ms (status ${g.status(index)})`);
    await sleep(1);
  }
  const r = g.result(index);
  g.free(index);
  return r;
}

async function call(g: FakeGuest, thread: number, sysno: number, args: number[] = []): Promise<number> {
  const i = g.post(thread, sysno, args);
  ring(g, thread);
  return settle(g, i);
}

async function pipe(g: FakeGuest): Promise<[number, number]> {
  assert.is(await call(g, 0, SYS_pipe2, [SCRATCH, 0]), 0);
  return [g.mem.i32At(SCRATCH), g.mem.i32At(SCRATCH + 4)];
}

function claimedBy(g: FakeGuest, thread: number): number {
  return Atomics.load(g.i32, hostLineW(g.ctrl, thread) + HW_CLAIMED);
}

const S = suite('native work stealing and inline waits');
S.after.each(teardown);

S('a thread with nothing of its own serves the line of a sleeping thread, in seq order', async () => {
  const { guest } = setup(2);
  const [r, w] = await pipe(guest);
  await allAsleep(guest, 2);
  const before1 = claimedBy(guest, 1);
  // Thirty-two one-byte writes posted to line 1 (whose thread sleeps and is not rung), then thread
  // 0 is woken: it finds nothing on its own line and takes line 1's batch.
  const posted: number[] = [];
  for (let k = 0; k < 32; k++) {
    new Uint8Array(guest.memory.buffer)[SCRATCH + 100 + k] = 65 + k;
    posted.push(guest.post(1, SYS_write, [w, SCRATCH + 100 + k, 1]));
  }
  ring(guest, 0);
  for (const i of posted) assert.is(await settle(guest, i, 500), 1, 'served well before thread 1 would wake by itself (1 s)');
  assert.is(claimedBy(guest, 1), before1, 'thread 1 claimed none of them');
  assert.ok(claimedBy(guest, 0) >= 32, 'thread 0 claimed them');
  assert.is(await call(guest, 0, SYS_read, [r, SCRATCH + 200, 64]), 32);
  const got = Buffer.from(new Uint8Array(guest.memory.buffer, SCRATCH + 200, 32)).toString();
  assert.is(got, Buffer.from(Array.from({ length: 32 }, (_, k) => 65 + k)).toString(), 'the line\'s writes landed in seq order');
});

S('without stealing (FLEXVM_NATIVE_STEAL=0) the line waits for its own thread', async () => {
  const { guest } = setup(2, { FLEXVM_NATIVE_STEAL: '0' });
  await allAsleep(guest, 2);
  const i = guest.post(1, SYS_getpid);
  ring(guest, 0);
  await sleep(100);
  assert.is(guest.status(i) === ST_DONE, false, 'thread 0 left line 1 alone');
  ring(guest, 1);
  assert.is(await settle(guest, i), 4242);
});

S('a cancellation reaches a call parked on the thread that stole it (ECANCELED, won, once)', async () => {
  const { guest } = setup(2);
  const [r, w] = await pipe(guest);
  await allAsleep(guest, 2);
  const claimed0 = claimedBy(guest, 0);
  const claimed1 = claimedBy(guest, 1);
  const read = guest.post(1, SYS_read, [r, SCRATCH, 8]);
  ring(guest, 0);
  const until = Date.now() + 500;
  while (claimedBy(guest, 0) === claimed0 && Date.now() < until) await sleep(1);
  assert.is(claimedBy(guest, 0), claimed0 + 1, 'thread 0 claimed it');
  assert.is(claimedBy(guest, 1), claimed1, 'thread 1 did not');
  assert.is(guest.status(read), ST_BUSY, 'parked by the thief');
  await allAsleep(guest, 2);
  assert.ok(guest.cancel(read));
  ring(guest, 1); // the cancellation is posted to line 1: its own thread sees it and forwards it
  assert.is(await settle(guest, read), -ECANCELED);
  const won = Atomics.load(guest.i32, hostLineW(guest.ctrl, 0) + HW_CANCEL_WON) + Atomics.load(guest.i32, hostLineW(guest.ctrl, 1) + HW_CANCEL_WON);
  assert.is(won, 1);
  // The descriptor still works, and the cancelled read took nothing.
  new Uint8Array(guest.memory.buffer)[SCRATCH + 300] = 120;
  assert.is(await call(guest, 1, SYS_write, [w, SCRATCH + 300, 1]), 1);
  assert.is(await call(guest, 0, SYS_read, [r, SCRATCH + 400, 8]), 1);
});

S('many writers on both lines, threads stealing back and forth: every entry completes exactly once', async () => {
  const { guest } = setup(2);
  const [r, w] = await pipe(guest);
  let total = 0;
  for (let round = 0; round < 20; round++) {
    const posted: number[] = [];
    for (let k = 0; k < 24; k++) posted.push(guest.post(k % 2, k % 3 === 0 ? SYS_write : SYS_getpid, k % 3 === 0 ? [w, SCRATCH + 100, 1] : []));
    ring(guest, round % 2);
    ring(guest, (round + 1) % 2);
    for (const i of posted) {
      const res = await settle(guest, i);
      assert.ok(res === 1 || res === 4242, `result ${res}`);
      if (res === 1) total++;
    }
  }
  let drained = 0;
  while (drained < total) {
    const n = await call(guest, 0, SYS_read, [r, SCRATCH + 1000, 4096]);
    assert.ok(n > 0);
    drained += n;
  }
  assert.is(drained, total, 'each write ran once');
});

S('flexvm.wait on the completions word runs the pending entries on the calling thread (FLEXVM_NATIVE_INLINE=1)', async () => {
  const { guest } = setup(1, { FLEXVM_NATIVE_INLINE: '1' });
  const [r, w] = await pipe(guest);
  await allAsleep(guest, 1);
  const imports = addon().imports(guest.memory.buffer as SharedArrayBuffer);
  const seen = guest.completions();
  const ids = [guest.post(0, SYS_getpid), guest.post(0, SYS_getpid)];
  // No doorbell: only the wait itself can run them, before it returns (timeout 0: never sleeps).
  assert.is(imports.wait(guest.ctrl + C_COMPLETIONS, seen, 0), 1, 'completions moved: "not equal"');
  for (const i of ids) assert.is(guest.status(i), ST_DONE);
  for (const i of ids) assert.is(await settle(guest, i), 4242);
  // A call that would block is handed to the line's syscall thread, which completes it later.
  const read = guest.post(0, SYS_read, [r, SCRATCH, 8]);
  assert.is(imports.wait(guest.ctrl + C_COMPLETIONS, guest.completions(), 0), 2, 'nothing completed: timed out at once');
  assert.is(guest.status(read), ST_BUSY);
  new Uint8Array(guest.memory.buffer)[SCRATCH + 300] = 120;
  assert.is(await call(guest, 0, SYS_write, [w, SCRATCH + 300, 1]), 1);
  assert.is(await settle(guest, read), 1);
  // ...and one cancelled there is interrupted by that thread.
  const read2 = guest.post(0, SYS_read, [r, SCRATCH, 8]);
  imports.wait(guest.ctrl + C_COMPLETIONS, guest.completions(), 0);
  assert.is(guest.status(read2), ST_BUSY);
  assert.ok(guest.cancel(read2));
  ring(guest, 0);
  assert.is(await settle(guest, read2), -ECANCELED);
  // A wrong expected value answers at once, as a futex wait does; other words are plain futex waits.
  assert.is(imports.wait(guest.ctrl + C_COMPLETIONS, guest.completions() + 1, 1000), 1);
  assert.is(imports.wait(SCRATCH + 512, 7, 1000), 1);
  assert.is(imports.wait(SCRATCH + 512, 0, 1000), 2);
});

S('without FLEXVM_NATIVE_INLINE flexvm.wait leaves the entries to the syscall threads', async () => {
  const { guest } = setup(1);
  await allAsleep(guest, 1);
  const imports = addon().imports(guest.memory.buffer as SharedArrayBuffer);
  const i = guest.post(0, SYS_getpid);
  assert.is(imports.wait(guest.ctrl + C_COMPLETIONS, guest.completions(), 0), 2);
  assert.is(guest.status(i) === ST_DONE, false);
  ring(guest, 0);
  assert.is(await settle(guest, i), 4242);
});

S('with the idle polls of the readiness set rate-limited (FLEXVM_NATIVE_POLL_US) a parked read still completes', async () => {
  const { guest } = setup(1, { FLEXVM_NATIVE_POLL_US: '5000', FLEXVM_NATIVE_MAXSPIN_US: '20000' });
  const [r, w] = await pipe(guest);
  const read = guest.post(0, SYS_read, [r, SCRATCH, 8]);
  ring(guest, 0);
  const until = Date.now() + 1000;
  while (guest.status(read) !== ST_BUSY && Date.now() < until) await sleep(1);
  assert.is(guest.status(read), ST_BUSY, 'claimed and parked');
  new Uint8Array(guest.memory.buffer)[SCRATCH + 300] = 121;
  assert.is(await call(guest, 0, SYS_write, [w, SCRATCH + 300, 1]), 1);
  assert.is(await settle(guest, read, 500), 1);
});

// The suite runs where the addon is available; elsewhere one test says why (and fails in CI).
if (typeof native !== 'string') S.run();
else t('native work stealing', () => {});
