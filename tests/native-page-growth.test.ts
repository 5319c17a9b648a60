// Syscall pages added at run time, against the native addon alone (no JavaScript checks in front):
// Guest::addPages refuses every hostile registration itself, and entries in added pages are run by a
// native syscall thread and announced in their pages' done masks. Part of `npm run test:asan`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EFAULT, EINVAL, ENOSPC, ST_DONE, SYS_getpid, PAGE_SIZE, TW_DOORBELL, TW_NEEDS_WAKEUP, threadLineW } from '../host/abi/v1.js';
import { FakeGuest } from './helpers/fake-guest.js';
import { addon, nativeTest } from './helpers/native.js';

const n = nativeTest();
n('native addon: addPages checks every pointer itself; an entry in an added page runs', async () => {
  const a = addon();
  const g = new FakeGuest(1, 1, undefined, 4);
  const layout = g.register(0, 4242);
  const ex = a.createExecutor(1, 50, 50, false);
  try {
    a.attach(ex, g.memory.buffer as SharedArrayBuffer, {
      gid: 1, pid: 4242, name: 'fake', ctrl: layout.ctrl, pagesPtr: layout.pagesPtr, pageCount: layout.pageCount,
      maskPages: layout.maskPages, pageMax: layout.pageMax, threads: 1, maxFds: 64, maxPending: 64, listenAny: false,
      grants: [], stdio: [-1, -1, -1],
    });
    const size = g.memory.buffer.byteLength;
    const free = g.end + PAGE_SIZE; // past the first page
    assert.is(a.addPages(ex, 1, g.ctrl, 1), -EINVAL, 'the control block');
    assert.is(a.addPages(ex, 1, g.pagesPtr, 1), -EINVAL, 'page 0');
    assert.is(a.addPages(ex, 1, free + 32, 1), -EINVAL, 'misaligned');
    assert.is(a.addPages(ex, 1, 512, 1), -EINVAL, 'low memory');
    assert.is(a.addPages(ex, 1, size - PAGE_SIZE, 2), -EFAULT, 'straddles the end');
    assert.is(a.addPages(ex, 1, 0xfffff000, 1), -EFAULT, 'past the end');
    assert.is(a.addPages(ex, 1, free, 0), -EINVAL, 'no pages');
    assert.is(a.addPages(ex, 1, free, -5), -EINVAL, 'a negative count');
    assert.is(a.addPages(ex, 1, free, 4), -ENOSPC, 'past pageMax (4 in all)');
    assert.is(a.addPages(ex, 99, free, 1), -EINVAL, 'no such guest');
    assert.is(a.addPages(ex, 1, free, 2), 3);
    assert.is(a.addPages(ex, 1, free + PAGE_SIZE, 1), -EINVAL, 'overlaps an added page');
    assert.is(a.addPages(ex, 1, free + 2 * PAGE_SIZE, 2), -ENOSPC);
    g.pagesAdded(free, 2);
    // Entries in pages 1 and 2 (both added) run, in order, on the one syscall thread.
    const line = threadLineW(g.ctrl, 0);
    const indices = [64, 130, 65].map((index) => {
      const i = g.post(0, SYS_getpid, [], 0, index);
      if (Atomics.load(g.i32, line + TW_NEEDS_WAKEUP) !== 0) {
        Atomics.add(g.i32, line + TW_DOORBELL, 1);
        a.wake(g.memory.buffer as SharedArrayBuffer, (line + TW_DOORBELL) * 4);
      }
      return i;
    });
    for (const index of indices) {
      const until = Date.now() + 2000;
      while (g.status(index) !== ST_DONE && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
      assert.is(g.status(index), ST_DONE, `entry ${index}`);
      assert.is(g.result(index), 4242);
      assert.ok(g.doneBit(index), 'announced in its page\'s done mask');
    }
  } finally {
    a.detach(ex, 1);
    a.destroyExecutor(ex);
  }
});

test.run();
