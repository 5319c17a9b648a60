// The httpd's standing robustness tests, CI-sized (tests/fuzz/httpd-fuzzer.ts; `npm run fuzz --
// --target httpd` and `npm run soak` for long runs): a protocol fuzz with a reference client checking
// answers on its own connections, and a soak under mixed load while the served files change, with
// descriptors, memory and handles of this process before and after.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzHttpd, soakHttpd } from './fuzz/httpd-fuzzer.js';

test('httpd protocol fuzz: mutated and hostile requests never stop the reference client being answered', async () => {
  const r = await fuzzHttpd({ seconds: 4, seed: 42, concurrency: 6 });
  assert.equal(r.referenceFailures, [], JSON.stringify(r));
  assert.ok(r.serverAlive, 'the server is still running');
  assert.ok(r.requests > 20 && r.referenceChecks > 5, JSON.stringify(r));
});

test('httpd soak: mixed load while files change; every answer checks; no descriptor, handle or memory left behind', async () => {
  const r = await soakHttpd({ seconds: 4, concurrency: 8 });
  assert.equal(r.failures, [], JSON.stringify(r));
  assert.ok(r.serverAlive);
  assert.ok(r.requests > 50 && r.fileChanges > 50, JSON.stringify(r));
  assert.ok(r.fdsAfter <= r.fdsBefore + 2, `descriptors: ${r.fdsBefore} before, ${r.fdsAfter} after`);
  assert.ok(r.handlesAfter <= r.handlesBefore + 2, `handles: ${r.handlesBefore} before, ${r.handlesAfter} after`);
});

test.run();
