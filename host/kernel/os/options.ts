import type { KernelOptions } from '../kernel.js';

/**
 * Options of the os kernel, read from `KernelOptions.extra` (an object; unknown fields are ignored):
 *
 * - `allowNonLoopbackListen` (boolean, default false): listeners bind the address the guest asked
 *   for, 0.0.0.0 included. Off, a listener bound to 0.0.0.0 listens on 127.0.0.1 and bind() to any
 *   other non-loopback address fails with EACCES, so a guest is reachable only from this machine
 *   unless the embedder opts in. Outgoing connections are not restricted.
 */
export interface OsKernelOptions {
  readonly allowNonLoopbackListen: boolean;
}

export const DEFAULT_OS_OPTIONS: OsKernelOptions = { allowNonLoopbackListen: false };

export function osKernelOptions(options: KernelOptions): OsKernelOptions {
  const extra = options.extra;
  if (typeof extra !== 'object' || extra === null) return DEFAULT_OS_OPTIONS;
  const e = extra as Record<string, unknown>;
  return { allowNonLoopbackListen: e.allowNonLoopbackListen === true };
}
