// V8 11.3's Liftoff miscompiles some Wasm atomic wait loops (an atomic wait loop after an unrelated store spins forever although the word already holds the awaited value; the same code returns with --no-liftoff). flexvm compiles
// guests without Liftoff; this test proves libflexsc's wait loops also work when Liftoff is on, by
// running guests that wait thousands of times both ways in child processes (on the virtual kernel:
// the echo pair's port 7 is its own, not the machine's, so two suites side by side cannot collide).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = fileURLToPath(new URL('../host/cli/main.js', import.meta.url));

function run(liftoff: boolean, mode: string): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [cli, 'run', 'examples/echo/client.wasm', '--kernel', 'virtual', '--with', 'examples/echo/server.wasm', '--mode', mode, '--', '--conns', '2', '--messages', '500'],
    { cwd: root, env: { ...process.env, FLEXVM_LIFTOFF: liftoff ? '1' : '0' }, encoding: 'utf8', timeout: 30_000 },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

for (const liftoff of [false, true]) {
  for (const mode of ['exceptionless', 'sync']) {
    test(`guests that wait in a loop finish with Liftoff ${liftoff ? 'on' : 'off'} (${mode})`, () => {
      const r = run(liftoff, mode);
      assert.is(r.status, 0, r.out);
      assert.match(r.out, /2 connections x 500 messages/);
    });
  }
}

test.run();
