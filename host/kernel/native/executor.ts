import { availableParallelism } from 'node:os';
import { ConnectPolicy } from '../common/connect-policy.js';
import type { AttachInfo } from '../../vm/messages.js';
import type { Executor, ExecutorContext, GuestRunnerRef, SyscallCounts } from '../../syscall/executor.js';
import { nativeAddonPath, type NativeAddon } from './addon.js';
import { nativeKernelOptions } from './options.js';
import { GuestStreams } from './streams.js';
import { StdinRing } from '../common/stdin-ring.js';
import { GC_STDERR_QUEUED, GC_STDOUT_QUEUED } from '../../syscall/served-guest.js';
import { traceLines } from './trace.js';
import { GuestMemory } from '../../memory/guest-memory.js';

/** Longest idle polling of a native syscall thread before it sleeps, where cores allow (µs). */
const MAX_SPIN_US = 2000;
/** How often completed calls are collected for --trace (ms). */
const TRACE_EVERY_MS = 20;

/** What a guest's worker needs to reach this executor (GuestRunnerRef.data). */
export interface NativeRunnerData {
  readonly executor: number;
  readonly listenAny: boolean;
  /** The connect() allow-list, flattened for the addon (NativeAttachOptions.connectRules). */
  readonly connectRules: readonly number[];
  /** KernelOptions.strictLinks (NativeAttachOptions.strictLinks). */
  readonly strictLinks: boolean;
  /** The addon's file, loaded by the guest's worker as it is (no search: a worker starts sooner without node:fs). */
  readonly addonPath: string;
}

/**
 * The native kernel's executor: N native syscall threads in the addon (native/src/executor.cc)
 * reading every guest's pages. The guests' workers attach themselves to it at registration (the
 * native guest runner), so this side keeps only what lives on the main thread: the guests'
 * standard streams, --trace lines, and detaching.
 */
export class NativeExecutor implements Executor {
  readonly guestRunner: GuestRunnerRef;
  private readonly streams = new Map<number, GuestStreams>();
  /** Each attached guest's memory by pid, for --trace's strings and structures. */
  private readonly memories = new Map<number, GuestMemory>();
  private readonly pids = new Map<number, number>();
  private traceTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly context: ExecutorContext,
    private readonly addon: NativeAddon,
    private readonly id: number,
  ) {
    const rules = ConnectPolicy.from(context.kernel.allowConnect).rules.flatMap((r) => [r.net, r.prefix, r.port ?? -1]);
    const data: NativeRunnerData = {
      executor: id,
      listenAny: nativeKernelOptions(context.kernel).allowNonLoopbackListen,
      connectRules: rules,
      strictLinks: context.kernel.strictLinks === true,
      addonPath: nativeAddonPath(),
    };
    this.guestRunner = { name: 'native', data };
  }

  /**
   * Starts the threads. Spinning longer than `spinUs` pays only where every thread, the guest and a
   * client each have a core: on 2 cores, httpd at 64 connections served 1.2-1.6 times the requests
   * with the spin capped at 100 µs instead of 2 ms (docs/native-kernel.md).
   */
  static create(context: ExecutorContext, addon: NativeAddon): NativeExecutor {
    const maxSpin = context.threads + 2 <= availableParallelism() ? Math.max(context.spinUs, MAX_SPIN_US) : context.spinUs;
    return new NativeExecutor(context, addon, addon.createExecutor(context.threads, context.spinUs, maxSpin, context.trace));
  }

  async start(): Promise<void> {
    if (this.context.trace) this.traceTimer = setInterval(() => this.pumpTrace(), TRACE_EVERY_MS);
  }

  attach(guest: AttachInfo): void {
    if (this.context.trace) {
      this.memories.set(guest.pid, new GuestMemory(guest.memory));
      this.pids.set(guest.gid, guest.pid);
    }
    const fds = this.addon.takeStdio(this.id, guest.gid);
    // Host descriptors given as they are (a guest on the VM's thread, host/vm/this-thread.ts): nothing to pump.
    if (!fds || fds.every((fd) => fd < 0)) return;
    // Counted as queued until the VM's sink has them (the VM subtracts them then), as other kernels do.
    const counters = new Int32Array(guest.counters);
    const word = (fd: 1 | 2): number => (fd === 1 ? GC_STDOUT_QUEUED : GC_STDERR_QUEUED);
    this.streams.set(
      guest.gid,
      new GuestStreams(
        fds,
        guest.stdinRing ? new StdinRing(guest.stdinRing) : guest.stdin,
        (fd, data) => {
          Atomics.add(counters, word(fd), data.length);
          this.context.report({ type: 'stdio', gid: guest.gid, fd, data });
        },
        {
          queued: (fd) => Atomics.load(counters, word(fd)),
          whenDrained: (fd, then) => {
            const seen = Atomics.load(counters, word(fd));
            const waited = Atomics.waitAsync(counters, word(fd), seen);
            if (waited.async) void waited.value.then(then);
            else queueMicrotask(then);
          },
        },
      ),
    );
  }

  async detach(gid: number): Promise<(SyscallCounts | null)[]> {
    if (this.closed) return [];
    const counts = this.addon.detach(this.id, gid);
    this.pumpTrace();
    const pid = this.pids.get(gid);
    if (pid !== undefined) {
      this.pids.delete(gid);
      this.memories.delete(pid);
    }
    const streams = this.streams.get(gid);
    if (streams) {
      this.streams.delete(gid);
      await streams.drained();
    }
    if (!counts) return [null];
    const [submitted, completed] = counts;
    const out: SyscallCounts = {};
    for (let nr = 0; nr < submitted.length; nr++) if (submitted[nr] || completed[nr]) out[nr] = [submitted[nr]!, completed[nr]!];
    return [out];
  }

  wakeGuest(memory: SharedArrayBuffer, addr: number): void {
    this.addon.wake(memory, addr);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.traceTimer) clearInterval(this.traceTimer);
    this.pumpTrace();
    this.addon.destroyExecutor(this.id);
    await Promise.all([...this.streams.values()].map((s) => s.drained(200)));
    this.streams.clear();
  }

  private pumpTrace(): void {
    if (!this.context.trace) return;
    for (const line of traceLines(this.addon.takeTrace(this.id), (pid) => this.memories.get(pid))) this.context.report({ type: 'trace', line });
  }
}
