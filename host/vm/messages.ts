import type { GuestRunnerRef } from '../syscall/executor.js';
import type { Grant, KernelOptions, Limits } from '../kernel/kernel.js';
import type { ControlLayout } from '../guest/control-block.js';
import type { WasiSpawn } from '../wasi/wasi-spawn.js';
import type { RunnableComponent } from '../wasi/preview2/component-instance.js';

/** Everything a thread needs to run a guest instance (guest worker, or a syscall worker in epoll mode). */
export interface SpawnInfo {
  /** The executor's guest runner (Executor.guestRunner), which then runs the guest in every mode. */
  readonly runner: GuestRunnerRef | null;
  /** Kernel options of the VM (the runner's kernel reads its own from `extra`). */
  readonly kernelOptions: KernelOptions;
  readonly gid: number;
  readonly pid: number;
  readonly name: string;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly memoryImport: { readonly module: string; readonly name: string };
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly mode: number;
  /** Syscall threads in the VM. */
  readonly threads: number;
  readonly syncSpinUs: number;
  /** For guests that run beside their kernel (epoll mode). */
  readonly grants: readonly Grant[];
  readonly stdin: Uint8Array | null;
  /** A streamed stdin's ring (StdinRing.buffer), fed by the VM; null for bytes or none. */
  readonly stdinRing: SharedArrayBuffer | null;
  readonly limits: Limits;
  /** ProcessSpec.shared of the guest (null when its kernel asks for none). */
  readonly shared: SharedArrayBuffer | null;
  /** The runtime's words for the guest, shared by its syscall threads (served-guest.ts: GUEST_COUNTERS_BYTES). */
  readonly counters: SharedArrayBuffer;
  /** epoll mode with a per-thread kernel: the guest's thread hosts its own instance of this kernel. */
  readonly kernel: KernelOptions | null;
  /** Post a trace line per call (flexvm run --trace). */
  readonly trace: boolean;
  /** An unmodified WASI program: where the host's region is, its preopens and listeners. */
  readonly wasi: WasiSpawn | null;
  /** A preview 2 component (then `wasi` is its port's layout and preopens). */
  readonly component: RunnableComponent | null;
}

/** A registered guest, as the syscall threads learn about it. */
export interface AttachInfo {
  readonly gid: number;
  readonly pid: number;
  readonly name: string;
  readonly memory: WebAssembly.Memory;
  readonly layout: ControlLayout;
  /** Syscall threads serving it (<= page count). */
  readonly threads: number;
  readonly grants: readonly Grant[];
  readonly stdin: Uint8Array | null;
  /** A streamed stdin's ring (StdinRing.buffer), fed by the VM; null for bytes or none. */
  readonly stdinRing: SharedArrayBuffer | null;
  readonly limits: Limits;
  readonly shared: SharedArrayBuffer | null;
  readonly counters: SharedArrayBuffer;
}

export interface SyscallWorkerData {
  readonly index: number;
  readonly count: number;
  readonly kernel: KernelOptions;
  readonly shared: SharedArrayBuffer;
  readonly spinUs: number;
  readonly limits: Limits;
  readonly trace: boolean;
}

/** Main thread -> guest worker. */
export type ToGuestWorker =
  | { readonly type: 'kill'; readonly reason: number }
  /** A spare worker's guest (guest-worker-pool.ts). */
  | { readonly type: 'start'; readonly info: SpawnInfo };

/** The workerData of a guest worker started before its guest (a spare): it waits for 'start'. */
export interface SpareWorkerData {
  readonly spare: true;
  /** The guest runner its guests will likely need (GuestRunnerRef.name), loaded while it waits. */
  readonly runner: string | null;
}

/** Main thread -> syscall worker. */
export type ToSyscallWorker =
  | { readonly type: 'attach'; readonly guest: AttachInfo }
  | { readonly type: 'detach'; readonly gid: number }
  | { readonly type: 'spawn'; readonly guest: SpawnInfo }
  | { readonly type: 'kill'; readonly gid: number; readonly reason: number }
  | { readonly type: 'close' };

/** Guest or syscall worker -> main thread. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'registered'; readonly gid: number; readonly layout: ControlLayout; readonly threads: number; readonly colocated: boolean }
  | { readonly type: 'refused'; readonly gid: number; readonly message: string }
  | { readonly type: 'stdio'; readonly gid: number; readonly fd: 1 | 2; readonly data: Uint8Array }
  /** The guest called `flexvm.ready` (libflexsc's `ready()`). */
  | { readonly type: 'guest-ready'; readonly gid: number; readonly detail: string }
  | {
      readonly type: 'exit';
      readonly gid: number;
      readonly status: number;
      readonly message?: string;
      readonly importCalls: number;
      /** Per-syscall counts of a guest that ran beside its kernel (epoll mode). */
      readonly counts?: Record<number, [number, number]> | null;
      /** An instrumented guest's probe globals (GuestInstance.probes). */
      readonly probes?: Record<string, number> | undefined;
    }
  | { readonly type: 'detached'; readonly gid: number; readonly thread: number; readonly counts: Record<number, [number, number]> | null }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'trace'; readonly line: string }
  | { readonly type: 'closed' };
