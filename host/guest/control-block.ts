import {
  ABI_VERSION_MAJOR, ABI_VERSION_MINOR, MAGIC, ENTRY_SIZE, MAX_PAGES, CTRL_ALIGN,
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_PAGE_LIMIT, C_THREAD_COUNT, C_WAITS, WAITS_ATOMIC,
  C_MODE, C_PID, C_PAGE_MAX, CTRL_FIXED_SIZE, PAGE_SIZE, ctrlSize, pagesSize, subMaskOffset, doneMaskOffset, EINVAL, EFAULT, EPROTO, ENOSPC,
} from '../abi/v1.js';
import type { GuestMemory } from '../memory/guest-memory.js';

/** Where a registered guest's control block and pages are (byte addresses in its memory). */
export interface ControlLayout {
  readonly ctrl: number;
  readonly ctrlSize: number;
  readonly pageCount: number;
  readonly pagesPtr: number;
  /** sub_mask[] (guest sets, host takes) and done_mask[] (host sets, guest takes). */
  readonly subMask: number;
  readonly doneMask: number;
  /** Pages the mask arrays are sized for: max(page_count, page_limit) (since ABI 1.3). */
  readonly maskPages: number;
  /** The most pages the host accepts from this guest in all (the control field page_max). */
  readonly pageMax: number;
  /**
   * The guest's pages as every host thread sees them (host memory, not the guest's): word 0 is the
   * number registered so far, word 1 + p the address of page p. Pages added at run time (flexvm.
   * add_pages) are written first and then counted, so a thread that reads the count finds them.
   */
  readonly pageTable: SharedArrayBuffer;
}

/** Words of a page table before the page addresses. */
export const PT_COUNT = 0;
export const PT_BASE = 1;

/** Registration refused: `errno` goes back to the guest, `message` to the user. */
export interface Refusal {
  readonly errno: number;
  readonly message: string;
}

/** Control blocks must stay clear of low memory, where some runtimes write scratch data. */
export const LOWEST_CONTROL_ADDRESS = 1024;

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * Checks a control block a guest handed to `register`: alignment, bounds, magic, ABI version,
 * sizes, and that the pages fit in memory without overlapping the block. Reads every field once and
 * returns the layout the host will use from now on (the guest cannot move it later).
 */
export function validateControlBlock(mem: GuestMemory, ptr: number, maxPages = MAX_PAGES): ControlLayout | Refusal {
  const refuse = (errno: number, message: string): Refusal => ({ errno, message });
  const ctrl = ptr >>> 0;
  const size = mem.size;
  if (ctrl % CTRL_ALIGN !== 0) return refuse(EINVAL, `control block at ${hex(ctrl)} is not ${CTRL_ALIGN}-byte aligned`);
  if (ctrl < LOWEST_CONTROL_ADDRESS) return refuse(EINVAL, `control block at ${hex(ctrl)} is in low memory (below ${LOWEST_CONTROL_ADDRESS})`);
  if (ctrl + CTRL_FIXED_SIZE > size) return refuse(EFAULT, `control block at ${hex(ctrl)} runs past the end of memory (${size} bytes)`);
  const magic = mem.u32(ctrl + C_MAGIC);
  if (magic !== MAGIC) return refuse(EINVAL, `not a flexvm control block: magic ${hex(magic)}, expected ${hex(MAGIC)}`);
  const version = mem.u32(ctrl + C_VERSION);
  const major = version >>> 16;
  const minor = version & 0xffff;
  if (major !== ABI_VERSION_MAJOR || minor > ABI_VERSION_MINOR) {
    return refuse(EPROTO, `guest speaks ABI ${major}.${minor}; this host speaks ${ABI_VERSION_MAJOR}.${ABI_VERSION_MINOR} (same major, minor up to ours)`);
  }
  const entrySize = mem.u32(ctrl + C_ENTRY_SIZE);
  if (entrySize !== ENTRY_SIZE) return refuse(EINVAL, `entry size ${entrySize}, expected ${ENTRY_SIZE}`);
  const pageCount = mem.u32(ctrl + C_PAGE_COUNT);
  if (pageCount < 1 || pageCount > MAX_PAGES) return refuse(EINVAL, `page count ${pageCount} outside 1..${MAX_PAGES}`);
  // page_limit is 1.3's: a 1.2 guest's word there was reserved (zero), and it never adds pages.
  const limit = minor >= 3 ? mem.u32(ctrl + C_PAGE_LIMIT) : 0;
  if (limit !== 0 && (limit < pageCount || limit > MAX_PAGES)) return refuse(EINVAL, `page limit ${limit} outside ${pageCount}..${MAX_PAGES}`);
  const maskPages = Math.max(pageCount, limit);
  if (pageCount > maxPages) return refuse(ENOSPC, `${pageCount} syscall pages asked for, more than this host's limit of ${maxPages} (--max-pages)`);
  const declared = mem.u32(ctrl + C_CTRL_SIZE);
  const expected = ctrlSize(maskPages);
  if (declared !== expected) return refuse(EINVAL, `control block size ${declared}, expected ${expected} for ${maskPages} pages`);
  if (ctrl + expected > size) return refuse(EFAULT, `control block (${expected} bytes at ${hex(ctrl)}) runs past the end of memory`);
  const pagesPtr = mem.u32(ctrl + C_PAGES_PTR);
  const pagesBytes = pagesSize(pageCount);
  if (pagesPtr % ENTRY_SIZE !== 0) return refuse(EINVAL, `syscall pages at ${hex(pagesPtr)} are not ${ENTRY_SIZE}-byte aligned`);
  if (pagesPtr < LOWEST_CONTROL_ADDRESS) return refuse(EINVAL, `syscall pages at ${hex(pagesPtr)} are in low memory`);
  if (pagesPtr + pagesBytes > size) return refuse(EFAULT, `${pageCount} syscall pages at ${hex(pagesPtr)} run past the end of memory`);
  if (pagesPtr < ctrl + expected && ctrl < pagesPtr + pagesBytes) return refuse(EINVAL, 'syscall pages overlap the control block');
  const pageMax = Math.min(maskPages, maxPages);
  const pageTable = new SharedArrayBuffer((PT_BASE + pageMax) * 4);
  const table = new Int32Array(pageTable);
  for (let p = 0; p < pageCount; p++) table[PT_BASE + p] = pagesPtr + p * PAGE_SIZE;
  table[PT_COUNT] = pageCount;
  return {
    ctrl,
    ctrlSize: expected,
    pageCount,
    pagesPtr,
    subMask: ctrl + subMaskOffset(maskPages),
    doneMask: ctrl + doneMaskOffset(maskPages),
    maskPages,
    pageMax,
    pageTable,
  };
}

/** Pages registered so far (the first ones and those added at run time). */
export function pagesRegistered(layout: ControlLayout): number {
  return Atomics.load(new Int32Array(layout.pageTable), PT_COUNT);
}

/**
 * `flexvm.add_pages(ptr, count)`: checks `count` more pages at `ptr` (alignment, bounds, no overlap
 * with the control block or any page registered before, the limit), then appends them to the page
 * table and publishes the new count. Returns the new number of pages, or a refusal. Called on the
 * guest's own thread only (one registrar), so appending needs no lock.
 */
export function addPages(mem: GuestMemory, layout: ControlLayout, ptr: number, count: number): number | Refusal {
  const refuse = (errno: number, message: string): Refusal => ({ errno, message });
  const table = new Int32Array(layout.pageTable);
  const have = Atomics.load(table, PT_COUNT);
  const at = ptr >>> 0;
  const n = count | 0;
  if (n < 1) return refuse(EINVAL, `cannot add ${n} pages`);
  if (n > layout.pageMax - have) return refuse(ENOSPC, `${have} syscall pages registered; ${n} more would pass the limit of ${layout.pageMax}`);
  if (at % ENTRY_SIZE !== 0) return refuse(EINVAL, `syscall pages at ${hex(at)} are not ${ENTRY_SIZE}-byte aligned`);
  if (at < LOWEST_CONTROL_ADDRESS) return refuse(EINVAL, `syscall pages at ${hex(at)} are in low memory`);
  const end = at + n * PAGE_SIZE;
  if (end > mem.size) return refuse(EFAULT, `${n} syscall pages at ${hex(at)} run past the end of memory`);
  if (at < layout.ctrl + layout.ctrlSize && layout.ctrl < end) return refuse(EINVAL, 'syscall pages overlap the control block');
  for (let p = 0; p < have; p++) {
    const base = table[PT_BASE + p]! >>> 0;
    if (at < base + PAGE_SIZE && base < end) return refuse(EINVAL, `syscall pages at ${hex(at)} overlap page ${p}`);
  }
  for (let i = 0; i < n; i++) table[PT_BASE + have + i] = at + i * PAGE_SIZE;
  Atomics.store(table, PT_COUNT, have + n);
  return have + n;
}

/** add_pages as the guest sees it: the new page count, or -errno (-EINVAL before registration). */
export function addPagesFor(mem: GuestMemory, layout: ControlLayout | null, ptr: number, count: number): number {
  if (!layout) return -EINVAL;
  const r = addPages(mem, layout, ptr, count);
  return typeof r === 'number' ? r : -r.errno;
}

export function isRefusal(v: ControlLayout | Refusal): v is Refusal {
  return (v as Refusal).errno !== undefined;
}

/** Fills the host-written fields at registration. */
export function acceptControlBlock(mem: GuestMemory, layout: ControlLayout, threads: number, mode: number, pid: number, waits = WAITS_ATOMIC): void {
  mem.setU32(layout.ctrl + C_THREAD_COUNT, threads);
  mem.setU32(layout.ctrl + C_MODE, mode);
  mem.setU32(layout.ctrl + C_PID, pid);
  mem.setU32(layout.ctrl + C_WAITS, waits);
  mem.setU32(layout.ctrl + C_PAGE_MAX, layout.pageMax);
}
