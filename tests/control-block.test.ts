// Registration: a control block is accepted only if it is well formed, and refused with a message
// that says what is wrong otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_PAGE_LIMIT, C_PAGE_MAX, C_THREAD_COUNT, C_MODE, C_PID,
  EINVAL, EFAULT, EPROTO, ENOSPC, PAGE_SIZE, ctrlSize,
} from '../host/abi/v1.js';
import { validateControlBlock, isRefusal, acceptControlBlock, addPages, addPagesFor, pagesRegistered, PT_BASE, type ControlLayout } from '../host/guest/control-block.js';
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

// Pages added at run time (ABI 1.3): page_limit sizes the masks, the host's limit caps it.
function grower(pages = 1, limit = 6, maxPages = 1024): { g: FakeGuest; layout: ControlLayout } {
  const g = new FakeGuest(pages, 1, undefined, limit);
  const layout = validateControlBlock(g.mem, g.ctrl, maxPages);
  if (isRefusal(layout)) throw new Error(layout.message);
  acceptControlBlock(g.mem, layout, 1, 0, 1);
  return { g, layout };
}

test('page_limit sizes the masks; page_max is the lower of it and the host\'s limit', () => {
  const { g, layout } = grower(2, 6);
  assert.is(layout.maskPages, 6);
  assert.is(layout.pageMax, 6);
  assert.is(g.mem.u32(g.ctrl + C_PAGE_MAX), 6);
  assert.is(pagesRegistered(layout), 2);
  const capped = grower(2, 6, 3).layout;
  assert.is(capped.pageMax, 3);
  assert.is(capped.maskPages, 6);
  // A 1.2 guest's word at page_limit was reserved: ignored, no growth.
  const old = new FakeGuest(2, 1, undefined, 6);
  old.mem.setU32(old.ctrl + C_VERSION, (1 << 16) | 2);
  old.mem.setU32(old.ctrl + C_CTRL_SIZE, ctrlSize(2));
  const v = validateControlBlock(old.mem, old.ctrl);
  assert.not.ok(isRefusal(v));
  if (!isRefusal(v)) assert.is(v.pageMax, 2);
});

test('refused at registration: a page limit below the page count or past MAX_PAGES, more first pages than the host allows', () => {
  const g = new FakeGuest(4, 1, undefined, 6);
  g.mem.setU32(g.ctrl + C_PAGE_LIMIT, 3);
  let r = validateControlBlock(g.mem, g.ctrl);
  assert.ok(isRefusal(r) && r.errno === EINVAL && /page limit 3/.test(r.message));
  g.mem.setU32(g.ctrl + C_PAGE_LIMIT, 100000);
  r = validateControlBlock(g.mem, g.ctrl);
  assert.ok(isRefusal(r) && r.errno === EINVAL);
  const h = new FakeGuest(4, 1, undefined, 6);
  r = validateControlBlock(h.mem, h.ctrl, 3);
  assert.ok(isRefusal(r) && r.errno === ENOSPC && /--max-pages/.test(r.message), JSON.stringify(r));
});

test('add_pages: good pages are appended to the page table and counted; every hostile one is refused and changes nothing', () => {
  const { g, layout } = grower(1, 6);
  const free = g.end + PAGE_SIZE;
  const size = g.mem.size;
  const errno = (ptr: number, count: number): number => {
    const r = addPages(g.mem, layout, ptr, count);
    return typeof r === 'number' ? r : -r.errno;
  };
  assert.is(errno(g.ctrl, 1), -EINVAL, 'the control block');
  assert.is(errno(g.ctrl + ctrlSize(6) - 64, 1), -EINVAL, 'the control block\'s last line (its masks are sized for the limit)');
  assert.is(errno(g.pagesPtr + 64, 1), -EINVAL, 'page 0');
  assert.is(errno(free + 4, 1), -EINVAL, 'misaligned');
  assert.is(errno(64, 1), -EINVAL, 'low memory');
  assert.is(errno(size - PAGE_SIZE, 2), -EFAULT, 'straddles the end of memory');
  assert.is(errno(0xfffff000, 1), -EFAULT, 'past the end of memory');
  assert.is(errno(free, 0), -EINVAL);
  assert.is(errno(free, -1), -EINVAL);
  assert.is(errno(free, 6), -ENOSPC, 'past page_max');
  assert.is(pagesRegistered(layout), 1, 'nothing registered by the refusals');
  assert.is(errno(free, 2), 3);
  assert.is(errno(free + PAGE_SIZE + 128, 1), -EINVAL, 'overlaps an added page');
  assert.is(errno(free + 2 * PAGE_SIZE, 3), 6);
  assert.is(errno(free + 5 * PAGE_SIZE, 1), -ENOSPC);
  const table = new Int32Array(layout.pageTable);
  assert.equal([...table.slice(PT_BASE, PT_BASE + 6)], [g.pagesPtr, free, free + PAGE_SIZE, free + 2 * PAGE_SIZE, free + 3 * PAGE_SIZE, free + 4 * PAGE_SIZE]);
  assert.is(addPagesFor(g.mem, null, free, 1), -EINVAL, 'before registration');
});

test.run();
