import { EINVAL, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_APPEND, O_DSYNC, O_NONBLOCK, O_SYNC } from '../../abi/v1.js';
import type { Description } from './description.js';
import type { FdEntry } from './fd-table.js';

/** Open flags kept as the status flags of an open file (F_GETFL reports them with the access mode). */
export const OPEN_STATUS_FLAGS = O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC;

/** Status flags F_SETFL may change (Linux ignores the others). */
export const SETFL_MASK = O_APPEND | O_NONBLOCK;

/** A 64-bit argument from its (lo, hi) slots. */
export function i64Arg(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + (lo >>> 0);
}

/** fcntl on a descriptor whose flags live on its description: F_GETFD/F_SETFD, F_GETFL/F_SETFL; others EINVAL. */
export function fcntlDescription(slot: FdEntry<Description>, cmd: number, arg: number): number {
  const d = slot.value;
  switch (cmd) {
    case F_GETFD:
      return slot.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      slot.cloexec = (arg & FD_CLOEXEC) !== 0;
      return 0;
    case F_GETFL:
      return d.accessMode | d.statusFlags;
    case F_SETFL:
      d.statusFlags = (d.statusFlags & ~SETFL_MASK) | (arg & SETFL_MASK);
      // A waiting call keeps its mode, but pollers may care: wake them to re-check.
      d.changed();
      return 0;
    default:
      return -EINVAL;
  }
}
