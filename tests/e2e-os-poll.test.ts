// poll(2) from a guest on the os kernel with several syscall threads: each descriptor lives on the
// thread that created it, so libflexsc's poll wrapper routes a poll to the thread that owns its
// first descriptor (a poll routed round-robin failed on every other thread).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIGS, VmPool, label, run } from './helpers/e2e.js';

const pool = new VmPool({ kernel: 'os' });
test.after(() => pool.close());

for (const { mode, threads } of CONFIGS) {
  test(label('poll of pipes created on every syscall thread reports their data', mode, threads), async () => {
    const o = await run(await pool.get(threads), 'tests/guests/poll-route', { mode, args: ['--pipes', '8'] });
    assert.is(o.status, 0, `status\n${o.stdout}\n${o.stderr}`);
    assert.ok(o.stdout.includes('polled 16 0'), o.stdout);
  });
}

test.run();
