// The ABI fuzzer's short seeded run, on every kernel (tests/fuzz/abi-fuzzer.ts; `npm run fuzz` for
// long runs): random and adversarial entries against the real syscall threads and kernels. The
// host never throws or hangs, and every entry the fuzzer did not corrupt ends DONE with -errno from
// the ABI's table or a value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RateLimiter } from '../host/syscall/rate-limit.js';
import { fuzzAbi, type FuzzKernel } from './fuzz/abi-fuzzer.js';

for (const kernel of ['virtual', 'os'] as FuzzKernel[]) {
  for (const seed of [1, 2, 3]) {
    test(`ABI fuzz on the ${kernel} kernel, seed ${seed}: the host holds`, async () => {
      const r = await fuzzAbi({ kernel, seed, entries: 3000 });
      assert.equal(r.failures, []);
      assert.ok(r.posted >= 3000 && r.completed > 0, JSON.stringify(r));
      assert.ok(r.kept > r.posted / 5, `many entries are held to the promise that they complete: ${JSON.stringify(r)}`);
      // Tails jump hundreds of times: the resynchronising diagnostics are rate-limited (issue 8, defect 4).
      assert.ok(r.logLines <= 60, `host log lines: ${r.logLines} for ${r.tailJumps} tail jumps and ${r.scribbles} scribbles`);
      assert.ok(r.rewrites > 0 && r.forced > 0 && r.freeCancels > 0 && r.tailJumps > 0 && r.scribbles > 0, `every kind of abuse happened: ${JSON.stringify(r)}`);
    });
  }
}

test('the diagnostics rate limit: a burst, then a few a second, and a count of what it held back', () => {
  let now = 0;
  const limit = new RateLimiter(3, 1, () => now);
  const out = Array.from({ length: 10 }, (_, i) => limit.admit(`line ${i}`));
  assert.equal(out, ['line 0', 'line 1', 'line 2', null, null, null, null, null, null, null]);
  now = 1000;
  assert.is(limit.admit('later'), 'later (7 similar lines suppressed)');
  assert.is(limit.admit('again'), null);
  assert.is(limit.offered, 12);
  assert.is(limit.suppressed, 8);
});

test.run();
