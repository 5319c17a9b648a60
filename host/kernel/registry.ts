import type { GuestRunnerRef } from '../syscall/executor.js';
import type { FromWorker, SpawnInfo } from '../vm/messages.js';
import type { KernelModule, KernelOptions } from './kernel.js';

/** Built-in kernels by name; anything else is a module URL that exports a KernelModule. */
export async function loadKernelModule(options: KernelOptions): Promise<KernelModule> {
  switch (options.kind) {
    case 'virtual':
      return (await import('./virtual/index.js')) as KernelModule;
    case 'os':
      return (await import('./os/index.js')) as KernelModule;
    case 'native':
      return (await import('./native/index.js')) as KernelModule;
    default: {
      const mod = (await import(options.kind)) as Partial<KernelModule>;
      if (typeof mod.createKernel !== 'function' || (mod.placement !== 'home' && mod.placement !== 'per-thread')) {
        throw new Error(`kernel module ${options.kind} does not export placement and createKernel`);
      }
      return mod as KernelModule;
    }
  }
}

/** Runs a guest on its worker, in every mode, for an executor with its own guest side. */
export type GuestRunner = (info: SpawnInfo, post: (m: FromWorker) => void) => void;

/** The guest runner an executor names (Executor.guestRunner). */
export async function loadGuestRunner(ref: GuestRunnerRef): Promise<GuestRunner> {
  switch (ref.name) {
    case 'native':
      return (await import('./native/guest-runner.js')).runNativeGuest;
    default:
      throw new Error(`unknown guest runner ${JSON.stringify(ref.name)}`);
  }
}
