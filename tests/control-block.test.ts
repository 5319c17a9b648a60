// Registration: a control block is accepted only if it is well formed, and refused with a message
// that says what is wrong otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_THREAD_COUNT, C_MODE, C_PID,
  EINVAL, EFAULT, EPROTO, ctrlSize,
} from '../host/abi/v1.js';
import { validateControlBlock, isRefusal, acceptControlBlock } from '../host/guest/control-block.js';
import { FakeGuest } from './helpers/fake-guest.js';

function refusal(mutate: (g: FakeGuest) => number | void): { errno: number; message: string } {
  const g = new FakeGuest(2);
  const at = mutate(g);
  const r = validateControlBlock(g.mem, typeof at === 'number' ? at : g.ctrl);
  if (!isRefusal(r)) throw new Error('accepted');
  return r;
}

test('a well-formed block is accepted and the host fields are filled in', () => {
  const g = new FakeGuest(3);
  const layout = validateControlBlock(g.mem, g.ctrl);
  assert.not.ok(isRefusal(layout));
  if (isRefusal(layout)) return;
  assert.is(layout.pageCount, 3);
  assert.is(layout.pagesPtr, g.pagesPtr);
  acceptControlBlock(g.mem, layout, 2, 1, 321);
  assert.is(g.mem.u32(g.ctrl + C_THREAD_COUNT), 2);
  assert.is(g.mem.u32(g.ctrl + C_MODE), 1);
  assert.is(g.mem.u32(g.ctrl + C_PID), 321);
});

const cases: [string, (g: FakeGuest) => number | void, number, RegExp][] = [
  ['foreign magic', (g) => g.mem.setU32(g.ctrl + C_MAGIC, 0xdeadbeef), EINVAL, /magic 0xdeadbeef/],
  ['another ABI major version', (g) => g.mem.setU32(g.ctrl + C_VERSION, 2 << 16), EPROTO, /ABI 2\.0/],
  ['a newer minor version', (g) => g.mem.setU32(g.ctrl + C_VERSION, (1 << 16) | 9), EPROTO, /ABI 1\.9/],
  ['a misaligned block', (g) => g.ctrl + 4, EINVAL, /aligned/],
  ['a block in low memory', () => 64, EINVAL, /low memory/],
  ['a block past the end of memory', (g) => g.mem.size - 128, EFAULT, /past the end/],
  ['zero pages', (g) => g.mem.setU32(g.ctrl + C_PAGE_COUNT, 0), EINVAL, /page count 0/],
  ['too many pages', (g) => g.mem.setU32(g.ctrl + C_PAGE_COUNT, 100000), EINVAL, /page count 100000/],
  ['a size that does not match the pages', (g) => g.mem.setU32(g.ctrl + C_CTRL_SIZE, ctrlSize(2) + 64), EINVAL, /size/],
  ['a wrong entry size', (g) => g.mem.setU32(g.ctrl + C_ENTRY_SIZE, 32), EINVAL, /entry size 32/],
  ['pages past the end of memory', (g) => g.mem.setU32(g.ctrl + C_PAGES_PTR, g.mem.size - 4096), EFAULT, /past the end/],
  ['pages overlapping the block', (g) => g.mem.setU32(g.ctrl + C_PAGES_PTR, g.ctrl + 64), EINVAL, /overlap/],
  ['misaligned pages', (g) => g.mem.setU32(g.ctrl + C_PAGES_PTR, g.pagesPtr + 8), EINVAL, /aligned/],
];

for (const [name, mutate, errno, message] of cases) {
  test(`refused: ${name}`, () => {
    const r = refusal(mutate);
    assert.is(r.errno, errno);
    assert.match(r.message, message);
  });
}

test.run();
