// The kv server's standing robustness tests, CI-sized (tests/fuzz/kv-fuzzer.ts; `npm run fuzz --
// --target kv` and `npm run soak -- --target kv` for long runs): a protocol fuzz of the text, meta and
// binary protocols with a reference client storing and reading back values on its own connections,
// and a soak in which every acknowledged write is read back at the end, with descriptors, memory and
// handles of this process before and after. On the os kernel (`npm run test:native`: native).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzKv, soakKv } from './fuzz/kv-fuzzer.js';

const kernel = process.env.FLEXVM_TEST_REAL_KERNEL === 'native' ? 'native' : 'os';

test(`kv protocol fuzz [${kernel}]: mutated and hostile commands of three protocols never spoil the reference client's answers`, async () => {
  const r = await fuzzKv({ seconds: 4, seed: 42, concurrency: 6, kernel });
  assert.equal(r.referenceFailures, [], JSON.stringify(r));
  assert.ok(r.serverAlive, 'the server is still running');
  assert.ok(r.requests > 20 && r.referenceChecks > 5 && r.hostile > 3, JSON.stringify(r));
});

test(`kv soak [${kernel}]: every answer checks against the acknowledged writes, all read back at the end; nothing left behind`, async () => {
  const r = await soakKv({ seconds: 4, concurrency: 8, kernel });
  assert.equal(r.failures, [], JSON.stringify(r));
  assert.ok(r.serverAlive);
  assert.ok(r.operations > 100 && r.acknowledged > 30 && r.readBack === 8 * 64 && r.lost === 0, JSON.stringify(r));
  assert.ok(r.fdsAfter <= r.fdsBefore + 2, `descriptors: ${r.fdsBefore} before, ${r.fdsAfter} after`);
  assert.ok(r.handlesAfter <= r.handlesBefore + 2, `handles: ${r.handlesBefore} before, ${r.handlesAfter} after`);
});

test.run();
