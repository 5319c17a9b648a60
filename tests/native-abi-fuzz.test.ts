// The ABI fuzzer's short seeded run against the native kernel (tests/fuzz/abi-fuzzer.ts; `npm run
// fuzz -- --kernel native` for long runs): random and adversarial entries written into a guest's
// memory while the addon's C++ syscall threads serve it with real Linux system calls. The host
// never crashes or hangs, and every entry the fuzzer did not corrupt ends DONE with -errno from the
// ABI's table or a value. Part of `npm run test:asan` (the addon built with AddressSanitizer).
import * as assert from 'uvu/assert';
import { fuzzAbi } from './fuzz/abi-fuzzer.js';
import { nativeTest } from './helpers/native.js';
import { test } from 'uvu';

const t = nativeTest();
for (const seed of [1, 2, 3]) {
  t(`ABI fuzz on the native kernel, seed ${seed}: the host holds`, async () => {
    const r = await fuzzAbi({ kernel: 'native', seed, entries: 3000 });
    assert.equal(r.failures, []);
    assert.ok(r.posted >= 3000 && r.completed > 0, JSON.stringify(r));
    // Held to the promise: every entry but those the guest's own breaches can strand (see Tracked
    // in the fuzzer). The native threads run beside the fuzzer (not in its passes), so timing
    // decides more: 29-80% kept per seed (median 52%, seeds 1-60, under load), against 70-80% on
    // the JavaScript threads.
    assert.ok(r.kept > r.posted / 10, `many entries are held to the promise that they complete: ${JSON.stringify(r)}`);
    assert.ok(r.rewrites > 0 && r.forced > 0 && r.freeCancels > 0 && r.tailJumps > 0 && r.scribbles > 0, `every kind of abuse happened: ${JSON.stringify(r)}`);
  });
}

test.run();
