import type { GuestMemory } from '../memory/guest-memory.js';
import type { Executor, ExecutorContext } from '../syscall/executor.js';
import type { StdinRing } from './common/stdin-ring.js';

/**
 * The kernel interface: what a syscall thread calls to execute a guest's system call.
 *
 * A kernel is a plain object living on one host thread. The runtime hands it each call already
 * decoded from its syscall entry; the kernel returns the result at once, or returns PENDING and
 * later calls `call.complete(result)` exactly once (from the same thread). Results are numbers:
 * >= 0 on success (up to 2^53, e.g. lseek offsets), -errno on failure. A kernel may throw SysError
 * (or GuestFault for a bad pointer) instead of returning -errno; any other exception becomes -EIO and
 * is logged: a guest can never crash the host through a kernel.
 *
 * Descriptor numbering: a descriptor created by a call that ran on syscall thread `call.thread`
 * must satisfy `fd % spec.fdClasses === call.thread`, choosing the lowest such free number (0, 1, 2
 * are the standard streams). The guest routes every call on a descriptor to the thread `fd % N`
 * without a lookup table, and the os kernel keeps each socket on the event loop that owns it.
 */
export interface Kernel<P = unknown> {
  /** `virtual`, `os`, or an embedder's name. */
  readonly name: string;
  /** A guest registered: set up its process state (standard streams, grants). */
  attach(spec: ProcessSpec): P;
  /**
   * The guest is gone: close its descriptors (peers see EOF or a reset) and drop its parked calls
   * without completing them.
   */
  detach(proc: P): void;
  /**
   * Executes one call: returns its result, or PENDING and completes it later. When it returns a
   * result, the kernel must not keep the Call (the runtime reuses the object for the next call).
   */
  syscall(proc: P, call: Call): number;
  /** Releases everything (the VM is closing). */
  close?(): void | Promise<void>;
}

/** Returned by Kernel.syscall when the call will complete later through Call.complete. */
export const PENDING = Number.MIN_SAFE_INTEGER;

/** One system call as a kernel sees it. */
export interface Call {
  /** Linux x86-64 system call number. */
  readonly sysno: number;
  /** The six 32-bit argument slots, as the guest wrote them (signed). */
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly a4: number;
  readonly a5: number;
  /** Entry flags (EF_NOWAIT: fail with -EAGAIN rather than wait). */
  readonly flags: number;
  /** The syscall thread the call was posted to: new descriptors belong to this class. */
  readonly thread: number;
  /**
   * Set by the kernel when it parks the call: the runtime invokes it when the guest cancels. The
   * kernel then completes the call with -ECANCELED if it still can (cancellation races completion,
   * paper section 4.2). Left null, the call cannot be interrupted and cancellation loses.
   */
  onCancel: (() => void) | null;
  /** Completes a call for which syscall() returned PENDING. Exactly once; later calls are ignored. */
  complete(result: number): void;
}

/** Where a guest's standard output and error go (the embedder's sinks). */
export interface Stdio {
  write(fd: 1 | 2, data: Uint8Array): void;
  /**
   * Bytes written to `fd` that the embedder's sink has not taken yet. Optional: without it the
   * stream is unbounded. With it, a write finds room only below STDIO_QUEUE_LIMIT and otherwise
   * waits (or answers -EAGAIN when it may not wait), as a pipe does.
   */
  queued?(fd: 1 | 2): number;
  /** Calls `then` once, after queued(fd) has dropped (with queued). */
  whenDrained?(fd: 1 | 2, then: () => void): void;
}

/** Bytes a guest's standard output (and, separately, its error) may have queued for the sink. */
export const STDIO_QUEUE_LIMIT = 1 << 20;

/** A host directory made visible to a guest at `guestPath`. */
export interface Grant {
  readonly hostPath: string;
  readonly guestPath: string;
  /** The guest may read but not change anything below it: calls that would fail with -EROFS. */
  readonly readOnly?: boolean;
  /** The name a WASI program sees for it (its preopen), when that differs from guestPath (`.`, `data`). */
  readonly wasiName?: string;
}

export interface Limits {
  /** Open descriptors per guest; past it, calls that create one fail with -EMFILE. */
  readonly maxFds: number;
  /** Calls in flight per guest; past it, new calls fail with -EAGAIN. */
  readonly maxPending: number;
  /**
   * Linear memory per guest, in bytes (whole 64 KiB pages): the host caps the module's declared
   * maximum (up to 4 GiB) at this, so memory.grow past it fails in the guest; a module needing more
   * at start is refused.
   */
  readonly maxMemory: number;
  /**
   * Syscall pages per guest, the first ones included: libflexsc adds pages at run time when its
   * entries run out (flexvm.add_pages), up to this; past it add_pages fails with -ENOSPC, and a
   * guest asking for more at registration is refused.
   */
  readonly maxPages: number;
}

/** 1,024 pages (65,536 entries, 4 MiB of guest memory) by default: tens of thousands of idle connections. */
export const DEFAULT_MAX_PAGES = 1024;

/** 1 GiB of guest memory by default: well below the 4 GiB a module may declare. */
export const DEFAULT_MAX_MEMORY = 1 << 30;

export const DEFAULT_LIMITS: Limits = { maxFds: 65536, maxPending: 65536, maxMemory: DEFAULT_MAX_MEMORY, maxPages: DEFAULT_MAX_PAGES };

/** What the runtime tells a kernel about a guest when it attaches. */
export interface ProcessSpec {
  readonly pid: number;
  /** Program name, for messages. */
  readonly name: string;
  readonly memory: GuestMemory;
  readonly grants: readonly Grant[];
  /** Bytes readable on fd 0, then EOF (null: EOF at once). */
  readonly stdin: Uint8Array | null;
  /**
   * fd 0 as a stream instead (the embedder gave a Readable): what arrives is read from this ring,
   * a read waits while it is empty, and EOF comes once the source ended (common/stdin-ring.ts).
   * When set, `stdin` is null.
   */
  readonly stdinRing?: StdinRing | null;
  readonly stdio: Stdio;
  readonly limits: Limits;
  /** Number of syscall threads serving the guest (descriptor classes). */
  readonly fdClasses: number;
  /**
   * KernelModule.processSharedBytes of zeroed memory shared by every instance of a per-thread kernel
   * that serves this process (one per syscall thread), for state they must all see, such as the os
   * kernel's table of open files that any thread may read. Null for a module that asks for none.
   */
  readonly shared: SharedArrayBuffer | null;
}

/** Where a kernel runs, and what it is told about its thread. */
export interface KernelContext {
  /** Index of the syscall thread this kernel instance lives on. */
  readonly thread: number;
  readonly threadCount: number;
  /**
   * The instance runs on a guest's own thread (epoll mode), not on a syscall thread: calls that a
   * traditional kernel performs synchronously (file I/O) must complete inside syscall(), because the
   * guest cannot be suspended there; only calls that wait for readiness or time may return PENDING.
   */
  readonly colocated?: boolean;
  /** Diagnostics (goes to the VM's log, never to a guest). */
  log(message: string): void;
}

/**
 * A kernel module, as a syscall thread loads it. `placement` says how instances map onto threads:
 * - `home`: one instance for the whole VM, on syscall thread 0; other threads forward their claimed
 *   entries to it (the virtual kernel: one state machine keeps runs deterministic).
 * - `per-thread`: one instance on every syscall thread, each owning the descriptors of its class
 *   (the os kernel: a socket lives on the event loop that created it).
 */
export interface KernelModule<O extends KernelOptions = KernelOptions> {
  readonly placement: 'home' | 'per-thread';
  createKernel(options: O, context: KernelContext): Kernel;
  /** Bytes of ProcessSpec.shared each guest gets (none when absent). */
  readonly processSharedBytes?: number;
  /**
   * A kernel that executes calls outside the JavaScript syscall threads (native threads reading the
   * same pages) brings its own executor; without one, the VM runs the JavaScript executor, whose
   * threads call createKernel (host/syscall/executor.ts).
   */
  createExecutor?(context: ExecutorContext): Executor;
}

/**
 * A kernel and its options, as they travel to worker threads (structured-clone friendly): `kind`
 * names it (registry.ts), and each kernel types the rest (VirtualKernelOptions, OsKernelConfig,
 * ModuleKernelOptions).
 */
export interface KernelOptions {
  readonly kind: string;
  /**
   * Addresses guests may connect() to, every kernel: `ADDR[/PREFIX][:PORT]` rules (common/connect-policy.ts);
   * absent: loopback only; ['none']: nothing. Past them connect() is EACCES.
   */
  readonly allowConnect?: readonly string[];
  /**
   * Every kernel: opening for writing (or truncating) a regular file that has more than one link is
   * EACCES. A hard link inside a grant to a file outside it is that file: this keeps a read-write
   * grant from writing through one (docs/security.md). Default false (Linux's behaviour).
   */
  readonly strictLinks?: boolean;
}

/** An embedder's kernel: `kind` is the URL of a module exporting a KernelModule, which reads `options`. */
export interface ModuleKernelOptions extends KernelOptions {
  readonly options?: unknown;
}
