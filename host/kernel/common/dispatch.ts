import { SYSCALLS } from '../../abi/v1.js';
import type { Call } from '../kernel.js';

/** One system call: its result, PENDING (after parking the call or starting I/O), or a thrown SysError. */
export type Handler<K, P> = (k: K, p: P, c: Call) => number;

/** The system calls flexvm's kernels implement, by the name of their handler. */
export interface Syscalls<K, P> {
  sysRead: Handler<K, P>;
  sysWrite: Handler<K, P>;
  sysClose: Handler<K, P>;
  sysFstat: Handler<K, P>;
  sysPoll: Handler<K, P>;
  sysLseek: Handler<K, P>;
  sysPread64: Handler<K, P>;
  sysPwrite64: Handler<K, P>;
  sysReadv: Handler<K, P>;
  sysWritev: Handler<K, P>;
  sysNanosleep: Handler<K, P>;
  sysGetpid: Handler<K, P>;
  sysSendfile: Handler<K, P>;
  sysSocket: Handler<K, P>;
  sysConnect: Handler<K, P>;
  sysSendto: Handler<K, P>;
  sysRecvfrom: Handler<K, P>;
  sysShutdown: Handler<K, P>;
  sysBind: Handler<K, P>;
  sysListen: Handler<K, P>;
  sysGetsockname: Handler<K, P>;
  sysGetpeername: Handler<K, P>;
  sysSetsockopt: Handler<K, P>;
  sysGetsockopt: Handler<K, P>;
  sysFcntl: Handler<K, P>;
  /** fsync and fdatasync (the handler tells them apart by c.sysno if it cares). */
  sysFsync: Handler<K, P>;
  sysFtruncate: Handler<K, P>;
  sysGetdents64: Handler<K, P>;
  sysClockGettime: Handler<K, P>;
  sysClockNanosleep: Handler<K, P>;
  sysEpollWait: Handler<K, P>;
  sysEpollCtl: Handler<K, P>;
  sysOpenat: Handler<K, P>;
  sysMkdirat: Handler<K, P>;
  sysNewfstatat: Handler<K, P>;
  sysUnlinkat: Handler<K, P>;
  sysRenameat: Handler<K, P>;
  sysAccept4: Handler<K, P>;
  sysEpollCreate1: Handler<K, P>;
  sysPipe2: Handler<K, P>;
  sysGetrandom: Handler<K, P>;
}

/**
 * The handler of ABI call `name`: `sys` and the name in camel case (sysRead for read, sysClockGettime
 * for clock_gettime). fdatasync shares fsync's handler, which tells them apart by c.sysno if it cares.
 */
function handlerName(name: string): keyof Syscalls<unknown, unknown> {
  const words = (name === 'fdatasync' ? 'fsync' : name).split('_');
  return `sys${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}` as keyof Syscalls<unknown, unknown>;
}

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
  for (const { name, nr } of SYSCALLS) {
    const h: unknown = handlers[handlerName(name)];
    if (typeof h === 'function') table[nr] = h as Handler<K, P>;
  }
  return table;
}

/** The system calls a table implements (every other number answers -ENOSYS). */
export function implemented<K, P>(table: DispatchTable<K, P>): number[] {
  return table.flatMap((h, nr) => (h ? [nr] : []));
}
