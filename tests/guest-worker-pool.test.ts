// The spare guest worker (host/vm/guest-worker-pool.ts) that VM.create and the CLI start ahead of the
// first guest: the next spawn runs in it, a later one gets a worker of its own, an unused spare is
// ended by vm.close, and an idle spare never keeps a process alive.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM } from '../host/vm/vm.js';
import { guestPath, ROOT } from './helpers/e2e.js';

const HELLO = guestPath('tests/guests/hello');
const text = (d: Uint8Array): string => Buffer.from(d).toString();

test('guests run in the spare and in fresh workers alike', async () => {
  for (const kernel of ['virtual', 'os'] as const) {
    const vm = await VM.create({ kernel });
    try {
      for (let i = 0; i < 3; i++) {
        let out = '';
        const r = await vm.run(HELLO, { stdout: (d) => void (out += text(d)) });
        assert.is(r.status, 0);
        assert.is(out, 'hello from the guest\n');
      }
    } finally {
      await vm.close();
    }
  }
});

/** Runs an ES module snippet in a fresh Node; it must exit by itself. */
function exitsByItself(code: string): void {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  assert.is(r.signal, null, `still running after 20 s: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
}

test('an unused spare is ended by vm.close; an idle one keeps no process alive', () => {
  const vm = JSON.stringify(join(ROOT, 'build/host/vm/vm.js'));
  const pool = JSON.stringify(join(ROOT, 'build/host/vm/guest-worker-pool.js'));
  exitsByItself(`const { VM } = await import(${vm}); const v = await VM.create({ kernel: 'os' }); await v.close();`);
  exitsByItself(`const { prestartGuestWorker } = await import(${pool}); prestartGuestWorker(null);`);
});

test.run();
