import type { KernelOptions } from '../kernel.js';

/**
 * Options of the os kernel (VMOptions.kernel: `{ kind: 'os', ...OsKernelConfig }`; what is left out takes its default):
 *
 * - `allowNonLoopbackListen` (boolean, default false): listeners bind the address the guest asked
 *   for, 0.0.0.0 included. Off, a listener bound to 0.0.0.0 listens on 127.0.0.1 and bind() to any
 *   other non-loopback address fails with EACCES, so a guest is reachable only from this machine
 *   unless the embedder opts in. Outgoing connections are not restricted.
 * - `fileIo` ('auto' or 'threadpool', default 'auto'): how a syscall thread runs file calls. With
 *   'threadpool' always on libuv's thread pool, so a slow disk never stalls the thread. With 'auto',
 *   synchronously while no socket has been created on the thread (a read from the page cache then
 *   costs about a microsecond instead of a round trip through the shared pool, and there is no socket
 *   on the thread to stall), and on the pool from the first socket on. The colocated (epoll) mode
 *   always reads synchronously, as an epoll server's read(2) of a file does.
 */
export interface OsKernelOptions {
  readonly allowNonLoopbackListen: boolean;
  readonly fileIo: 'auto' | 'threadpool';
}

export const DEFAULT_OS_OPTIONS: OsKernelOptions = { allowNonLoopbackListen: false, fileIo: 'auto' };

/** The os kernel as VMOptions.kernel names it: its kind and any options that differ from the defaults. */
export type OsKernelConfig = { readonly kind: 'os' } & Omit<KernelOptions, 'kind'> & Partial<OsKernelOptions>;

/** The options of an os kernel, defaults filled in (fields of other types read as their default). */
export function osKernelOptions(config: Partial<OsKernelOptions> = {}): OsKernelOptions {
  return { allowNonLoopbackListen: config.allowNonLoopbackListen === true, fileIo: config.fileIo === 'threadpool' ? 'threadpool' : 'auto' };
}
