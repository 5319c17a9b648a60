import type { GuestMemory } from '../../memory/guest-memory.js';
import { wasiErrno } from '../errno.js';
import { E } from '../wasi-abi.js';
import type { FdTable, WasiFd } from './fd-table.js';
import type { LinuxCalls, Stat } from './linux.js';

/** What every group of WASI functions works with. */
export interface WasiContext {
  readonly args: readonly string[];
  readonly env: readonly string[];
  mem(): GuestMemory;
  readonly sys: LinuxCalls;
  readonly fds: FdTable;
}

/** A WASI function: numbers (and bigints for u64) in, a WASI errno out. */
export type WasiFn = (...a: any[]) => number;

/** A negative Linux result as a WASI errno. */
export function errno(linux: number): number {
  return wasiErrno(linux);
}

export function isErr(v: unknown): v is number {
  return typeof v === 'number';
}

/** Looks up a descriptor with the rights a function needs (EBADF, ENOTCAPABLE). */
export function need(ctx: WasiContext, fd: number, rights: number): WasiFd | number {
  return ctx.fds.check(fd, rights);
}

/** Writes a filestat record. */
export function writeFilestat(ctx: WasiContext, at: number, st: Stat, filetype: number): void {
  const m = ctx.mem();
  m.check(at, 64);
  const v = m.view;
  const p = at >>> 0;
  v.setBigUint64(p, st.dev, true);
  v.setBigUint64(p + 8, st.ino, true);
  v.setUint8(p + 16, filetype);
  for (let i = 17; i < 24; i++) v.setUint8(p + i, 0);
  v.setBigUint64(p + 24, st.nlink, true);
  v.setBigUint64(p + 32, BigInt.asUintN(64, st.size), true);
  v.setBigUint64(p + 40, BigInt.asUintN(64, st.atim), true);
  v.setBigUint64(p + 48, BigInt.asUintN(64, st.mtim), true);
  v.setBigUint64(p + 56, BigInt.asUintN(64, st.ctim), true);
}

export const OK = E.SUCCESS;
