import type { KernelOptions } from '../kernel.js';

/**
 * Options of the native kernel (VMOptions.kernel: `{ kind: 'native', ...NativeKernelOptions }`):
 * - `allowNonLoopbackListen` (boolean, default false): bind what the guest asks for, 0.0.0.0
 *   included. Off, 0.0.0.0 binds 127.0.0.1 and any other non-loopback address is EACCES.
 */
export interface NativeKernelOptions {
  readonly allowNonLoopbackListen: boolean;
}

/** The native kernel as VMOptions.kernel names it. */
export type NativeKernelConfig = { readonly kind: 'native' } & Omit<KernelOptions, 'kind'> & Partial<NativeKernelOptions>;

export function nativeKernelOptions(options: KernelOptions): NativeKernelOptions {
  const o = options as Partial<NativeKernelOptions> & { extra?: unknown };
  const extra = typeof o.extra === 'object' && o.extra !== null ? (o.extra as Partial<NativeKernelOptions>) : {};
  return { allowNonLoopbackListen: o.allowNonLoopbackListen === true || extra.allowNonLoopbackListen === true };
}
