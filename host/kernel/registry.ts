import type { KernelModule, KernelOptions } from './kernel.js';

/** Built-in kernels by name; anything else is a module URL that exports a KernelModule. */
export async function loadKernelModule(options: KernelOptions): Promise<KernelModule> {
  switch (options.kind) {
    case 'virtual':
      return (await import('./virtual/index.js')) as KernelModule;
    case 'os':
      return (await import('./os/index.js')) as KernelModule;
    default: {
      const mod = (await import(options.kind)) as Partial<KernelModule>;
      if (typeof mod.createKernel !== 'function' || (mod.placement !== 'home' && mod.placement !== 'per-thread')) {
        throw new Error(`kernel module ${options.kind} does not export placement and createKernel`);
      }
      return mod as KernelModule;
    }
  }
}
