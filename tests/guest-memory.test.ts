// GuestMemory: bounds checks against a shared memory that another thread grows. Node 20 usually
// shows a syscall thread the new length at once (V8's grow interrupt); GuestMemory also asks with
// grow(0) before it reports a fault, for the times it has not (a spurious EFAULT seen in CI).
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestMemory } from '../host/memory/guest-memory.js';
import { GuestFault } from '../host/errors.js';

const PAGE = 65536;

test('an access past the end is a fault; after a grow on this thread it is not', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
  const mem = new GuestMemory(memory);
  assert.throws(() => mem.check(PAGE - 4, 8), (e: unknown) => e instanceof GuestFault);
  memory.grow(1);
  mem.check(PAGE - 4, 8);
  assert.is(mem.size, 2 * PAGE);
  assert.throws(() => mem.check(2 * PAGE, 1), (e: unknown) => e instanceof GuestFault);
});

test('memory grown by another thread is usable at once: every byte of each new page', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 200, shared: true });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./helpers/memory-grower.js', import.meta.url), { workerData: { memory, flag } });
  await new Promise((r) => worker.once('online', r));
  const mem = new GuestMemory(memory);
  try {
    for (let round = 1; round < 150; round++) {
      worker.postMessage(round);
      // Block like a syscall thread that has just been handed a call: no turn of the event loop.
      while (Atomics.load(flag, 0) !== round) Atomics.wait(flag, 0, round - 1, 1000);
      const end = (round + 1) * PAGE;
      mem.write(end - 8, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      assert.is(mem.u8At(end - 1), 8);
    }
  } finally {
    await worker.terminate();
  }
});

test.run();
