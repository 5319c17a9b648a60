import {
  ABI_VERSION_MAJOR, ABI_VERSION_MINOR, MAGIC, ENTRY_SIZE, MAX_PAGES, CTRL_ALIGN,
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_THREAD_COUNT, C_WAITS, WAITS_ATOMIC, C_MODE, C_PID,
  CTRL_FIXED_SIZE, ctrlSize, pagesSize, subMaskOffset, doneMaskOffset, EINVAL, EFAULT, EPROTO,
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
}

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
export function validateControlBlock(mem: GuestMemory, ptr: number): ControlLayout | Refusal {
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
  const declared = mem.u32(ctrl + C_CTRL_SIZE);
  const expected = ctrlSize(pageCount);
  if (declared !== expected) return refuse(EINVAL, `control block size ${declared}, expected ${expected} for ${pageCount} pages`);
  if (ctrl + expected > size) return refuse(EFAULT, `control block (${expected} bytes at ${hex(ctrl)}) runs past the end of memory`);
  const pagesPtr = mem.u32(ctrl + C_PAGES_PTR);
  const pagesBytes = pagesSize(pageCount);
  if (pagesPtr % ENTRY_SIZE !== 0) return refuse(EINVAL, `syscall pages at ${hex(pagesPtr)} are not ${ENTRY_SIZE}-byte aligned`);
  if (pagesPtr < LOWEST_CONTROL_ADDRESS) return refuse(EINVAL, `syscall pages at ${hex(pagesPtr)} are in low memory`);
  if (pagesPtr + pagesBytes > size) return refuse(EFAULT, `${pageCount} syscall pages at ${hex(pagesPtr)} run past the end of memory`);
  if (pagesPtr < ctrl + expected && ctrl < pagesPtr + pagesBytes) return refuse(EINVAL, 'syscall pages overlap the control block');
  return {
    ctrl,
    ctrlSize: expected,
    pageCount,
    pagesPtr,
    subMask: ctrl + subMaskOffset(pageCount),
    doneMask: ctrl + doneMaskOffset(pageCount),
  };
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
}
