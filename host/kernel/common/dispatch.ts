import { SYSCALLS, type SyscallHandlers } from '../../abi/v1.js';
import type { Call } from '../kernel.js';

/** One system call: its result, PENDING (after parking the call or starting I/O), or a thrown SysError. */
export type Handler<K, P> = (k: K, p: P, c: Call) => number;

/**
 * The system calls flexvm's kernels implement, one handler each, named from the ABI (sysRead for
 * read, sysClockGettime for clock_gettime; fdatasync shares sysFsync, which tells them apart by
 * c.sysno if it cares). Generated from abi/abi.json: a call added there is a handler every kernel
 * must name.
 */
export type Syscalls<K, P> = SyscallHandlers<Handler<K, P>>;

/** getpid: the same in every kernel. */
export function sysGetpid(_k: unknown, p: { readonly pid: number }): number {
  return p.pid;
}

/** A kernel's dispatch table, indexed by system call number (Scheduler.dispatch runs a call through it). */
export type DispatchTable<K, P> = readonly (Handler<K, P> | undefined)[];

/**
 * A kernel's table from its handlers (an object holding at least every Syscalls member, e.g. its
 * call modules spread together). A call of the ABI without a handler answers -ENOSYS.
 */
export function dispatchTable<K, P>(handlers: Syscalls<K, P>): DispatchTable<K, P> {
  const table: (Handler<K, P> | undefined)[] = [];
  for (const { nr, handler } of SYSCALLS) {
    const h: unknown = handlers[handler];
    if (typeof h === 'function') table[nr] = h as Handler<K, P>;
  }
  return table;
}

/** The system calls a table implements (every other number answers -ENOSYS). */
export function implemented<K, P>(table: DispatchTable<K, P>): number[] {
  return table.flatMap((h, nr) => (h ? [nr] : []));
}
