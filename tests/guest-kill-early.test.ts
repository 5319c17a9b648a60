// A stop asked for while a guest is still starting (before it registered its control block, where
// the shutdown word lives) is not lost: the guest sees it as soon as it registers and stops, as
// it would have later (status 130). It used to be dropped, and the server ran until the grace
// period ended it (137, "did not exit in time"): Ctrl-C during the CLI's start-up did that.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM, type Mode } from '../host/index.js';
import { nativeTest } from './helpers/native.js';

const ECHO = 'examples/echo/server.wasm';
const GRACE_MS = 20_000;

for (const kernel of ['virtual', 'os', 'native'] as const) {
  const t = kernel === 'native' ? nativeTest() : test;
  for (const mode of ['exceptionless', 'sync'] as const satisfies readonly Mode[]) {
    t(`${kernel}, ${mode}: a stop asked for before the guest registered stops it once it does`, async () => {
      const vm = await VM.create({ kernel, mode });
      try {
        const guest = await vm.spawn(ECHO, { args: ['--port', '0'], stderr: () => {} });
        const started = performance.now();
        guest.kill(GRACE_MS);
        const r = await guest.exited;
        assert.is(r.status, 130, `stopped as asked, not ended by the grace period (${r.status}: ${r.message ?? ''})`);
        assert.ok(performance.now() - started < GRACE_MS / 2, 'well before the grace period');
      } finally {
        await vm.close();
      }
    });
  }
}

test.run();
