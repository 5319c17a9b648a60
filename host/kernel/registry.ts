import type { GuestRunnerRef } from '../syscall/executor.js';
import type { FromWorker, SpawnInfo } from '../vm/messages.js';
import type { ThisThreadGuest } from '../vm/this-thread.js';
import type { KernelModule, KernelOptions, ModuleKernelOptions } from './kernel.js';
import type { NativeKernelConfig } from './native/options.js';
import type { OsKernelConfig } from './os/options.js';
import type { VirtualKernelOptions } from './virtual/options.js';

/** The built-in kernels by name. A kernel joins by adding its line here and its options to KnownKernelOptions. */
const BUILT_IN: Readonly<Record<string, () => Promise<KernelModule>>> = {
  virtual: async () => (await import('./virtual/index.js')) as KernelModule,
  os: async () => (await import('./os/index.js')) as KernelModule,
  native: async () => (await import('./native/index.js')) as KernelModule,
};

/** The names of the built-in kernels. */
export const KERNEL_NAMES: readonly string[] = Object.keys(BUILT_IN);

/** The options VMOptions.kernel accepts: a built-in kernel's, or an embedder's kernel module. */
export type KnownKernelOptions = VirtualKernelOptions | OsKernelConfig | NativeKernelConfig | ModuleKernelOptions;

/** An embedder's kernel is named by a module URL or path, never by a bare word. */
function isModuleReference(kind: string): boolean {
  return kind.includes('/') || kind.includes(':') || kind.startsWith('.');
}

/** Loads a kernel module: a built-in one by name, else the module at the URL `kind`. */
export async function loadKernelModule(options: KernelOptions): Promise<KernelModule> {
  const kind = options.kind;
  const builtIn = Object.hasOwn(BUILT_IN, kind) ? BUILT_IN[kind] : undefined;
  if (builtIn) return builtIn();
  if (typeof kind !== 'string' || !isModuleReference(kind)) {
    throw new RangeError(`unknown kernel ${JSON.stringify(kind)}: the kernels are ${KERNEL_NAMES.join(', ')}, or the URL of a module exporting placement and createKernel`);
  }
  const mod = (await import(kind)) as Partial<KernelModule>;
  if (typeof mod.createKernel !== 'function' || (mod.placement !== 'home' && mod.placement !== 'per-thread')) {
    throw new Error(`kernel module ${kind} does not export placement and createKernel`);
  }
  return mod as KernelModule;
}

/**
 * Runs a guest on its worker, in every mode, for an executor with its own guest side; with `here`,
 * on the VM's own thread instead (host/vm/this-thread.ts), where the runner supports it.
 */
export type GuestRunner = (info: SpawnInfo, post: (m: FromWorker) => void, here?: ThisThreadGuest) => void | Promise<void>;

/** The guest runner an executor names (Executor.guestRunner). */
export async function loadGuestRunner(ref: GuestRunnerRef): Promise<GuestRunner> {
  switch (ref.name) {
    case 'native':
      return (await import('./native/guest-runner.js')).runNativeGuest;
    default:
      throw new Error(`unknown guest runner ${JSON.stringify(ref.name)}`);
  }
}
