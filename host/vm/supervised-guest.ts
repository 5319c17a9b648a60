import { GC_DIAGNOSTICS, GC_DIAGNOSTICS_SUPPRESSED } from '../syscall/served-guest.js';
import type { StdioSink } from './api.js';
import type { Worker } from 'node:worker_threads';
import { C_COMPLETIONS, CW_COMPLETIONS, CW_SHUTDOWN, MODE_EPOLL } from '../abi/v1.js';
import type { ControlLayout } from '../guest/control-block.js';
import { EXIT_INTERRUPTED, EXIT_KILLED, EXIT_TRAP } from '../errors.js';
import type { Executor, SyscallCounts } from '../syscall/executor.js';
import type { VmShared } from '../syscall/vm-shared.js';
import { guestWorker } from './guest-worker-pool.js';
import type { GuestResult } from './api.js';
import type { FromWorker, SpawnInfo, ToGuestWorker } from './messages.js';
import { collectStats } from './stats.js';
import type { StdinFeeder } from './stdin-feeder.js';
import type { ThisThreadGuest } from './this-thread.js';
import { loadGuestRunner } from '../kernel/registry.js';

/** Where a guest runs (see `SupervisedGuest.launch`). */
export type Placement =
  /** Its own worker; its calls go to the executor's syscall threads (exceptionless and sync modes). */
  | 'worker'
  /** Its own worker, which hosts its own instance of a per-thread kernel (epoll mode). */
  | 'worker-with-kernel'
  /** The executor's home thread, beside the home kernel (epoll mode). */
  | 'home-thread'
  /** The VM's own thread, blocked while the guest runs (the native kernel; this-thread.ts). */
  | 'this-thread';

/**
 * One guest as the VM supervises it: launched on its thread, stopped on request, and, once it ended,
 * forgotten by the executor and summed up in a GuestResult with its statistics.
 */
export class SupervisedGuest {
  readonly worker: Worker | null;
  layout: ControlLayout | null = null;
  threads: number;
  registered = false;
  exited = false;
  /** A stop was asked before the guest registered: its shutdown word is written once it does. */
  private stopPending = false;
  /** Why it ended, when it did not simply exit. */
  message: string | undefined;
  /** Settles when the result has been delivered (statistics collected, the guest forgotten). */
  readonly result: Promise<GuestResult>;
  private resolve!: (result: GuestResult) => void;
  /** Settles with the guest's text when it says it is ready; fails if it ends first. */
  readonly ready: Promise<string>;
  private readyState: { resolve: (detail: string) => void; reject: (err: Error) => void; settled: boolean };

  constructor(
    readonly info: SpawnInfo,
    readonly placement: Placement,
    readonly stdout: StdioSink,
    readonly stderr: StdioSink,
    private readonly executor: Executor,
    private readonly shared: VmShared,
    /** Messages from its worker, into the VM's switch. */
    private readonly onMessage: (m: FromWorker) => void,
    /** Called once its result is delivered. */
    private readonly onGone: (g: SupervisedGuest) => void,
    /** Its streamed standard input, let go of when it ends. */
    private readonly stdinFeeder: StdinFeeder | null = null,
  ) {
    this.threads = info.threads;
    this.result = new Promise<GuestResult>((r) => (this.resolve = r));
    let readyState!: typeof this.readyState;
    this.ready = new Promise<string>((resolve, reject) => (readyState = { resolve, reject, settled: false }));
    this.readyState = readyState;
    // An embedder that never looks at `ready` must not get an unhandled rejection when a guest ends unready.
    this.ready.catch(() => {});
    this.worker = placement === 'home-thread' || placement === 'this-thread' ? null : guestWorker(info);
    if (placement === 'this-thread') {
      // runHere, called by the VM once the caller holds the guest.
    } else if (this.worker) {
      this.worker.on('message', onMessage);
      this.worker.on('error', (err) => this.ended(EXIT_TRAP, `guest thread failed: ${err.message}`, 0));
      this.worker.on('exit', () => {
        if (!this.exited) this.ended(this.message ? EXIT_KILLED : EXIT_TRAP, this.message ?? 'guest thread ended without reporting', 0);
      });
    } else {
      this.executor.spawnColocated!(info);
    }
  }

  get gid(): number {
    return this.info.gid;
  }

  /**
   * Runs the guest on this thread (placement 'this-thread'): returns once it has ended, its exit
   * delivered to the VM like a worker's.
   */
  async runHere(here: ThisThreadGuest): Promise<void> {
    if (this.exited) return;
    const post = this.onMessage;
    try {
      const run = await loadGuestRunner(this.info.runner!);
      // Stopped before it started (vm.close at once): it never runs.
      if (this.exited) return;
      await run(this.info, post, here);
    } catch (err) {
      this.ended(EXIT_TRAP, `cannot start the guest: ${(err as Error).message}`, 0);
    }
  }

  /** Asks the guest to stop; after `graceMs` its thread is terminated (or it is given up). */
  kill(graceMs: number): void {
    if (this.exited) return;
    if (this.placement === 'this-thread' && !this.layout) {
      // Not started, or not registered yet (then this thread is not running it): it ends now.
      this.ended(EXIT_INTERRUPTED, 'stopped by the host', 0);
      return;
    }
    if (this.placement === 'home-thread') {
      this.executor.stopColocated!(this.gid, 1);
    } else if (this.placement === 'worker-with-kernel' || (this.info.runner && this.info.mode === MODE_EPOLL)) {
      // It may wait in its thread's event loop: its worker resumes it to see the request.
      this.worker!.postMessage({ type: 'kill', reason: 1 } satisfies ToGuestWorker);
    } else if (this.layout) {
      this.writeShutdown(this.layout);
    } else {
      // Still starting: it has no control block yet. The request must not be lost (the guest would
      // start and serve until the grace period ended it): it is written when the guest registers.
      this.stopPending = true;
    }
    const timer = setTimeout(() => {
      if (this.exited) return;
      this.message = 'stopped by the host (did not exit in time)';
      if (this.worker) void this.worker.terminate();
      else this.ended(EXIT_INTERRUPTED, this.message, 0);
    }, graceMs);
    timer.unref();
  }

  /** The guest registered its control block (the VM's 'registered' message). */
  registeredWith(layout: ControlLayout, threads: number): void {
    this.layout = layout;
    this.threads = threads;
    this.registered = true;
    if (this.stopPending && !this.exited) this.writeShutdown(layout);
  }

  /** The guest library checks the shutdown word in its loop and waits: write it, and wake it to see it. */
  private writeShutdown(layout: ControlLayout): void {
    const i32 = new Int32Array(this.info.memory.buffer);
    const ctrlW = layout.ctrl >> 2;
    Atomics.store(i32, ctrlW + CW_SHUTDOWN, 1);
    Atomics.add(i32, ctrlW + CW_COMPLETIONS, 1);
    Atomics.notify(i32, ctrlW + CW_COMPLETIONS);
    this.executor.wakeGuest?.(this.info.memory.buffer as SharedArrayBuffer, layout.ctrl + C_COMPLETIONS);
  }

  /** The guest said it is ready (only the first time counts). */
  announced(detail: string): void {
    if (this.readyState.settled || this.exited) return;
    this.readyState.settled = true;
    this.readyState.resolve(detail);
  }

  /**
   * The guest ended: every executing thread forgets it (closing its descriptors) and reports its
   * counts, which join `ownCounts` (those of a guest that ran beside its kernel) in its statistics.
   */
  ended(status: number, message: string | undefined, importCalls: number, ownCounts: SyscallCounts | null = null, probes?: Record<string, number>): void {
    if (this.exited) return;
    this.exited = true;
    this.stdinFeeder?.stop();
    if (!this.readyState.settled) {
      this.readyState.settled = true;
      this.readyState.reject(new Error(`guest ${this.info.name} (pid ${this.info.pid}) ended with status ${status} before it said it was ready${message ? `: ${message}` : ''}`));
    }
    if (!this.registered) Atomics.sub(this.shared.i32, this.shared.startingWord, 1);
    void this.executor.detach(this.gid).then((counts) => {
      this.onGone(this);
      if (this.worker) void this.worker.terminate();
      const c = new Int32Array(this.info.counters);
      const diagnostics = { raised: Atomics.load(c, GC_DIAGNOSTICS), suppressed: Atomics.load(c, GC_DIAGNOSTICS_SUPPRESSED) };
      const stats = collectStats(this.info.memory, this.layout, this.threads, this.info.mode, [ownCounts, ...counts], importCalls, diagnostics);
      const { pid, name } = this.info;
      const result: GuestResult = message ? { pid, name, status, message, stats } : { pid, name, status, stats };
      this.resolve(probes ? { ...result, probes } : result);
    });
  }
}
