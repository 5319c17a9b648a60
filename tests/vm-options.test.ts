// VM.create's checks of its options: what an embedder gets for a kernel or a value it cannot have.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM } from '../host/vm/vm.js';
import { KERNEL_NAMES } from '../host/kernel/registry.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

test('an unknown kernel name is an error that lists the known kernels', async () => {
  const err = await rejection(VM.create({ kernel: { kind: 'nope' } }));
  assert.instance(err, RangeError);
  assert.match(err.message, /unknown kernel "nope": the kernels are virtual, os, native/);
  assert.equal([...KERNEL_NAMES].sort(), ['native', 'os', 'virtual']);
});

test('a kernel module URL that does not load is reported as such, not as an unknown name', async () => {
  const err = await rejection(VM.create({ kernel: { kind: './no-such-kernel.js' } }));
  assert.not.match(err.message, /unknown kernel/);
});

test('a syscall thread count outside 1..64 is a RangeError', async () => {
  const err = await rejection(VM.create({ syscallThreads: 0 }));
  assert.instance(err, RangeError);
});

test.run();
