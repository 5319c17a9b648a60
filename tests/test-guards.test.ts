// The suite's own guards: a green run must mean that every registered test ran and passed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type Callback, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { PENDING, type Call, type Kernel, type ProcessSpec } from '../host/kernel/kernel.js';
import { Fixtures } from './helpers/kernel-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A kernel that breaks the contract: it parks every call and then completes it twice. */
class TwiceKernel implements Kernel {
  readonly name = 'twice';
  attach(spec: ProcessSpec): ProcessSpec {
    return spec;
  }
  detach(): void {}
  syscall(_p: unknown, call: Call): number {
    call.complete(1);
    call.complete(2);
    return PENDING;
  }
}

test('a guarded kernel test fails when its kernel completes a call twice (in the test, not in a hook)', async () => {
  const fx = new Fixtures<unknown>({ close: false });
  const registered: Callback<Record<string, never>>[] = [];
  const fake = ((_name: string, fn: Callback<Record<string, never>>) => {
    registered.push(fn);
  }) as unknown as Test<Record<string, never>>;
  fx.guard(fake)('completes twice', () => {
    const h = fx.harness(new TwiceKernel());
    h.sys(h.spawn(), 39);
  });
  assert.is(registered.length, 1, 'the guard registers the test');
  let failure: Error | null = null;
  try {
    await registered[0]!({} as never);
  } catch (err) {
    failure = err as Error;
  }
  assert.ok(failure, 'the test fails');
  assert.match(failure!.message, /Kernel contract breaches/);
  assert.match(JSON.stringify((failure as assert.Assertion).actual), /completed twice/);
});

test('npm test fails a run in which uvu drops an error and exits 0', () => {
  const r = spawnSync(process.execPath, ['scripts/test.mjs', 'fixtures/uvu-dropped-error\\.js$'], { cwd: ROOT, encoding: 'utf8' });
  assert.is.not(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /0 of 2 registered tests passed although uvu exited 0/);
});

test.run();
