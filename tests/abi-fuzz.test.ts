// The ABI fuzzer's short seeded run, on every kernel (tests/fuzz/abi-fuzzer.ts; `npm run fuzz` for
// long runs): random and adversarial entries against the real syscall threads and kernels. The
// host never throws or hangs, and every entry the fuzzer did not corrupt ends DONE with -errno from
// the ABI's table or a value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzAbi, type FuzzKernel } from './fuzz/abi-fuzzer.js';

for (const kernel of ['virtual', 'os'] as FuzzKernel[]) {
  for (const seed of [1, 2, 3]) {
    test(`ABI fuzz on the ${kernel} kernel, seed ${seed}: the host holds`, async () => {
      const r = await fuzzAbi({ kernel, seed, entries: 3000 });
      assert.equal(r.failures, []);
      assert.ok(r.posted >= 3000 && r.completed > 0, JSON.stringify(r));
      assert.ok(r.rewrites > 0 && r.forced > 0 && r.freeCancels > 0 && r.tailJumps > 0 && r.scribbles > 0, `every kind of abuse happened: ${JSON.stringify(r)}`);
    });
  }
}

test.run();
