import type { KernelOptions } from '../kernel.js';

/**
 * Options of the native kernel, read from `KernelOptions.extra` like the os kernel's:
 * - `allowNonLoopbackListen` (boolean, default false): bind what the guest asks for, 0.0.0.0
 *   included. Off, 0.0.0.0 binds 127.0.0.1 and any other non-loopback address is EACCES.
 */
export interface NativeKernelOptions {
  readonly allowNonLoopbackListen: boolean;
}

export function nativeKernelOptions(options: KernelOptions): NativeKernelOptions {
  const extra = options.extra;
  if (typeof extra !== 'object' || extra === null) return { allowNonLoopbackListen: false };
  return { allowNonLoopbackListen: (extra as Record<string, unknown>).allowNonLoopbackListen === true };
}
