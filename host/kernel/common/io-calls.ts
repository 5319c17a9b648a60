import { O_APPEND, O_DSYNC, O_NONBLOCK, O_SYNC } from '../../abi/v1.js';

/** Open flags kept as the status flags of an open file (F_GETFL reports them with the access mode). */
export const OPEN_STATUS_FLAGS = O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC;

/** A 64-bit argument from its (lo, hi) slots. */
export function i64Arg(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + (lo >>> 0);
}
