import type { Kernel, KernelContext, KernelModule } from '../kernel.js';
import type { VirtualKernelOptions } from './options.js';
import { VirtualKernel } from './kernel.js';

/*
 * The `virtual` kernel module: deterministic and in memory. This module is itself a KernelModule
 * (the runtime imports it and reads `placement` and `createKernel`). `home` placement: one instance
 * for the whole VM on syscall thread 0, so all guests share one state machine and runs reproduce.
 */

export const placement: KernelModule['placement'] = 'home';

export function createKernel(options: VirtualKernelOptions, context: KernelContext): Kernel {
  return new VirtualKernel(options, context);
}

/** The same module as one value, for embedders that pass kernel modules around. */
export const virtualKernelModule: KernelModule<VirtualKernelOptions> = { placement, createKernel };

export { VirtualKernel, VIRTUAL_SYSCALLS } from './kernel.js';
export type { VirtualProcess } from './process.js';
export type { VirtualKernelOptions } from './options.js';
export { DEFAULT_EPOCH_MS, CLOCK_READ_COST_NS } from './clock.js';
export { PIPE_CAPACITY, PIPE_BUF } from '../common/pipe.js';
export { SOCKET_BUFFER, SOMAXCONN } from './socket.js';
export { MAX_FILE_SIZE, FS_CAPACITY } from './fs.js';
