// flexvm's embedding API.
export { VM, createVM, parseGrant, streamSink } from './vm/vm.js';
export type { VMOptions, SpawnOptions, Guest, GuestResult, Mode, StdioSink } from './vm/vm.js';
export type { GuestStats, SyscallCount, ThreadStats } from './vm/stats.js';
export { formatStats } from './vm/stats.js';
export { InvalidModuleError } from './wasm/module-info.js';
export { PENDING, DEFAULT_LIMITS, STDIO_QUEUE_LIMIT } from './kernel/kernel.js';
export type { Kernel, KernelModule, KernelOptions, KernelContext, Call, ProcessSpec, Grant, Limits, Stdio } from './kernel/kernel.js';
export { SysError, GuestFault } from './kernel/errors.js';
export { GuestMemory } from './memory/guest-memory.js';
export * as abi from './abi/v1.js';
