// flexvm's embedding API.
export { VM, createVM, parseGrant, streamSink } from './vm/vm.js';
export type { VMOptions, SpawnOptions, Guest, GuestResult, Mode, StdioSink } from './vm/vm.js';
export type { GuestStats, SyscallCount, ThreadStats } from './vm/stats.js';
export { formatStats } from './vm/stats.js';
export { InvalidModuleError } from './wasm/module-info.js';
export { PENDING, DEFAULT_LIMITS, STDIO_QUEUE_LIMIT } from './kernel/kernel.js';
export type { Kernel, KernelModule, KernelOptions, ModuleKernelOptions, KernelContext, Call, ProcessSpec, Grant, Limits, Stdio } from './kernel/kernel.js';
export type { KnownKernelOptions } from './kernel/registry.js';
export { KERNEL_NAMES } from './kernel/registry.js';
export type { VirtualKernelOptions } from './kernel/virtual/options.js';
export type { OsKernelConfig } from './kernel/os/options.js';
export type { VirtualTime, VirtualTimeKernel, EventLoopKernel } from './kernel/capabilities.js';
export type { Executor, ExecutorContext } from './syscall/executor.js';
export { SysError, GuestFault } from './errors.js';
export { GuestMemory } from './memory/guest-memory.js';
export * as abi from './abi/v1.js';
