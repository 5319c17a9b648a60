// The native kernel: syscall threads in C++ (native/src) that execute the guests' calls as real
// Linux system calls straight from their shared memory. See docs/native-kernel.md.
import type { Executor, ExecutorContext } from '../../syscall/executor.js';
import type { Kernel, KernelContext, KernelOptions } from '../kernel.js';
import { loadNativeAddon } from './addon.js';
import { NativeExecutor } from './executor.js';

export { loadNativeAddon } from './addon.js';

/** Every thread serves every descriptor: any syscall thread runs any call. */
export const placement = 'per-thread';

/** The native kernel has no JavaScript instance: its executor runs every call. */
export function createKernel(_options: KernelOptions, _context: KernelContext): Kernel {
  throw new Error('the native kernel runs on its own native threads (createExecutor), not in JavaScript');
}

export function createExecutor(context: ExecutorContext): Executor {
  const addon = loadNativeAddon();
  if (typeof addon === 'string') throw new Error(`the native kernel is unavailable: ${addon}`);
  return NativeExecutor.create(context, addon);
}
