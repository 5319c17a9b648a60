import type { KernelOptions, Limits } from '../kernel/kernel.js';
import type { AttachInfo, FromWorker, SpawnInfo } from '../vm/messages.js';
import type { VmShared } from './vm-shared.js';

/** Per-syscall counts of one executing thread for one guest: { sysno: [submitted, completed] }. */
export type SyscallCounts = Record<number, [number, number]>;

/**
 * The executor seam: whatever serves a VM's syscall pages. It does everything the ABI asks of the
 * host side (claim SUBMITTED entries in seq order and mark them BUSY, run them, write results and
 * done_mask bits, bump the completions word and notify a waiting guest, honour cancellation and the
 * needs-wakeup handshake, keep the host lines' counters) and nothing else: the VM spawns and stops
 * guests, relays registrations and collects statistics, and the guest cannot tell which executor
 * serves it.
 *
 * The JavaScript executor (worker-executor.ts) is a pool of Node workers running SyscallThread. A
 * kernel module that brings its own (native threads reading the same pages) exports
 * `createExecutor` (kernel.ts), and the VM uses it instead.
 */
export interface Executor {
  /** Starts serving; rejects when a thread cannot start (the VM is then not created). */
  start(): Promise<void>;
  /**
   * A guest registered: serve its pages. `guest.memory.buffer` is the guest's SharedArrayBuffer (its
   * base never moves; its length grows), `guest.layout` where its control block and pages are, and
   * `guest.threads` the threads that serve it: page p belongs to thread `p % threads`, and so does
   * thread line t of the control block.
   */
  attach(guest: AttachInfo): void;
  /**
   * The guest is gone: stop serving it, close its descriptors, drop its parked calls, and resolve
   * with the per-syscall counts of every thread that served it (merged into its statistics).
   */
  detach(gid: number): Promise<(SyscallCounts | null)[]>;
  /**
   * epoll mode beside a home kernel: run the guest on the executor's home thread, calling its
   * kernel directly. An executor that cannot leaves both out (the VM then refuses such guests).
   */
  spawnColocated?(guest: SpawnInfo): void;
  stopColocated?(gid: number, reason: number): void;
  /** Stops every thread. */
  close(): Promise<void>;
  /**
   * Guests of an executor whose threads are not JavaScript need their own guest side (how they
   * sleep and ring, the sync hand-off, the epoll mode's calls): the name of a runner
   * (kernel/registry.ts: loadGuestRunner) that runs each guest on its worker in every mode.
   */
  readonly guestRunner?: GuestRunnerRef;
  /** Wakes what sleeps on `addr` of a guest's memory the way this executor's guests sleep (stop requests). */
  wakeGuest?(memory: SharedArrayBuffer, addr: number): void;
}

/** A guest runner by name (kernel/registry.ts) and what it needs to find its executor (structured-cloneable). */
export interface GuestRunnerRef {
  readonly name: string;
  readonly data?: unknown;
}

/** What the VM gives an executor. */
export interface ExecutorContext {
  readonly kernel: KernelOptions;
  /** Syscall threads (the guest's pages and thread lines are divided among them). */
  readonly threads: number;
  /** Idle polling before a thread sleeps, in µs. */
  readonly spinUs: number;
  readonly limits: Limits;
  /** VM-wide shared words: each thread's internal doorbell and needs-wakeup, guests still starting. */
  readonly shared: VmShared;
  /** Post a trace line per completed call (`trace` messages). */
  readonly trace: boolean;
  /**
   * The executor's reports, through the same switch as the guest threads': `log`, `trace`, `stdio`
   * (a kernel writing a guest's standard output), and `registered`/`exit` of colocated guests.
   */
  report(m: FromWorker): void;
}
