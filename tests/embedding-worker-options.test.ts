// An embedder's own Node command line: flexvm's workers inherit the parent's Node options except those
// that name the parent's entry script (`-e`, `--input-type`...), which Node refuses in a worker
// (ERR_INPUT_TYPE_NOT_ALLOWED: every guest and syscall thread failed to start under
// `node --input-type=module -e`, as the startup benchmark's child was run).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { workerExecArgv } from '../host/worker-entry-points.js';
import { native } from './helpers/native.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('workerExecArgv keeps process options and drops the entry script options with their values', () => {
  assert.equal(workerExecArgv(['--input-type=module', '--no-warnings', '-e', 'code']), ['--no-warnings']);
  assert.equal(workerExecArgv(['--input-type', 'module', '-p', 'x', '--stack-size=900']), ['--stack-size=900']);
  assert.equal(workerExecArgv(['--eval=code', '--print', 'y', '-i', '--check', '--enable-source-maps']), ['--enable-source-maps']);
  assert.equal(workerExecArgv([]), []);
});

for (const kernel of ['virtual', 'os']) {
  test(`a VM embedded in \`node --input-type=module -e\` runs a guest (${kernel} kernel)`, () => {
    const script = `
      const { VM } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
      const vm = await VM.create({ kernel: ${JSON.stringify(kernel)} });
      const r = await vm.run(${JSON.stringify(`${ROOT}tests/guests/exit.wasm`)}, { stdout: () => {} });
      await vm.close();
      process.stdout.write('status ' + r.status + (r.message ? ' ' + r.message : ''));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.stderr.includes('ERR_INPUT_TYPE_NOT_ALLOWED'), false, r.stderr);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^status \d+$/);
  });
}

// V8's flags are process-wide: Node refuses them in a worker's execArgv (ERR_WORKER_INVALID_EXEC_ARGV),
// and `npm run soak` runs under `node --expose-gc`. The workers start without them (they hold anyway).
for (const kernel of ['virtual', 'os', 'native']) {
  test(`a VM in \`node --expose-gc --stack-size=900\` starts its workers and runs a guest (${kernel} kernel)`, () => {
    if (kernel === 'native' && typeof native === 'string') return;
    const script = `
      const { VM } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
      const vm = await VM.create({ kernel: ${JSON.stringify(kernel)}, syscallThreads: 2 });
      const r = await vm.run(${JSON.stringify(`${ROOT}tests/guests/exit.wasm`)}, { stdout: () => {} });
      await vm.close();
      process.stdout.write('status ' + r.status + ' gc ' + typeof gc);
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--stack-size=900', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.stderr.includes('ERR_WORKER_INVALID_EXEC_ARGV'), false, r.stderr);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^status \d+ gc function$/);
  });
}

test.run();
