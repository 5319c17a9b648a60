/**
 * The native kernel behind the Kernel interface the conformance suites drive, so that the same
 * cases run on it as on the virtual and os kernels. The native kernel has no JavaScript instance:
 * its C++ syscall threads read the guest's syscall pages. So each test guest gets a control block
 * and syscall pages at the bottom of its memory (the harness allocates above them), and a call is
 * posted exactly as libflexsc posts it (FakeGuest): written to an entry, published in sequence,
 * the thread's doorbell rung when it sleeps. The executor has one thread, which runs calls in
 * sequence order; once its published "next sequence" passes the entry, the call has either
 * completed (an immediate answer) or been parked on its readiness loop (PENDING, completed later
 * through the entry's DONE status, which a pump looks for). Cancellation is the guest's: the entry
 * goes to CANCEL and the executor answers it.
 */
import * as fs from 'node:fs';
import { HW_NEXT_SEQ, ST_DONE, TW_DOORBELL, TW_NEEDS_WAKEUP, hostLineW, threadLineW } from '../../host/abi/v1.js';
import { PENDING, type Call, type Kernel, type ProcessSpec } from '../../host/kernel/kernel.js';
import type { NativeAddon } from '../../host/kernel/native/addon.js';
import { FakeGuest } from './fake-guest.js';
import { ConnectPolicy } from '../../host/kernel/common/connect-policy.js';

/** Syscall pages per test guest (64 entries each): enough for every call a case keeps in flight. */
const PAGES = 2;
/** Where the harness's allocations start: above the control block (4 KiB) and the pages. */
export const NATIVE_HEAP_START = new FakeGuest(PAGES, 1, new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })).end;
/** How long a call may take to be run at all before the adapter gives up (the executor is stuck). */
const RUN_WITHIN_MS = 10_000;

export interface NativeProcess {
  readonly gid: number;
  readonly guest: FakeGuest;
  readonly sab: SharedArrayBuffer;
  /** Sequence number of the next call (thread 0's submission tail). */
  seq: number;
  /** Parked calls: entry index -> the call to complete. */
  readonly parked: Map<number, Call>;
  /** Readers of the guest's standard output and error. */
  readonly streams: fs.ReadStream[];
}

export interface NativeTestKernelOptions {
  readonly allowNonLoopbackListen?: boolean;
  /** The connect() allow-list, as the kernels' `allowConnect` option (default: loopback only). */
  readonly allowConnect?: readonly string[];
}

export class NativeTestKernel implements Kernel<NativeProcess> {
  readonly name = 'native';
  private readonly executor: number;
  private nextGid = 1;
  private readonly procs = new Set<NativeProcess>();
  private pump: NodeJS.Timeout | null = null;

  constructor(
    private readonly addon: NativeAddon,
    private readonly options: NativeTestKernelOptions = {},
  ) {
    this.executor = addon.createExecutor(1, 50, 50, false);
  }

  attach(spec: ProcessSpec): NativeProcess {
    const guest = new FakeGuest(PAGES, 1, spec.memory.memory);
    const layout = guest.register(0, spec.pid);
    const sab = spec.memory.memory.buffer as unknown as SharedArrayBuffer;
    const gid = this.nextGid++;
    this.addon.attach(this.executor, sab, {
      gid,
      pid: spec.pid,
      name: spec.name,
      ctrl: layout.ctrl,
      pagesPtr: layout.pagesPtr,
      pageCount: layout.pageCount,
      threads: 1,
      maxFds: spec.limits.maxFds,
      maxPending: spec.limits.maxPending,
      listenAny: this.options.allowNonLoopbackListen ?? false,
      connectRules: ConnectPolicy.from(this.options.allowConnect).rules.flatMap((r) => [r.net, r.prefix, r.port ?? -1]),
      grants: spec.grants.map((g) => ({ hostPath: g.hostPath, guestPath: g.guestPath, readOnly: g.readOnly ?? false })),
      stdio: 'pipes',
    });
    const ends = this.addon.takeStdio(this.executor, gid);
    if (!ends) throw new Error('the native kernel gave no standard streams');
    const [stdinW, stdoutR, stderrR] = ends;
    if (spec.stdin) fs.writeSync(stdinW, spec.stdin);
    fs.closeSync(stdinW);
    const streams = ([1, 2] as const).map((fd) => {
      const s = fs.createReadStream('', { fd: fd === 1 ? stdoutR : stderrR });
      s.on('data', (chunk) => spec.stdio.write(fd, new Uint8Array(chunk as Buffer)));
      s.on('error', () => {});
      return s;
    });
    const proc: NativeProcess = { gid, guest, sab, seq: 0, parked: new Map(), streams };
    this.procs.add(proc);
    return proc;
  }

  detach(proc: NativeProcess): void {
    if (!this.procs.delete(proc)) return;
    // The kernel drops parked calls without completing them, as every kernel does on detach.
    proc.parked.clear();
    this.addon.detach(this.executor, proc.gid);
  }

  syscall(proc: NativeProcess, call: Call): number {
    const g = proc.guest;
    const index = g.post(0, call.sysno, [call.a0, call.a1, call.a2, call.a3, call.a4, call.a5], call.flags);
    const seq = proc.seq++;
    this.ring(proc);
    // Wait until the executor has run the call: it completed, or it is parked.
    const next = hostLineW(g.ctrl, 0) + HW_NEXT_SEQ;
    const deadline = Date.now() + RUN_WITHIN_MS;
    while (((Atomics.load(g.i32, next) - seq - 1) | 0) < 0 && g.status(index) !== ST_DONE) {
      if (Date.now() > deadline) throw new Error(`the native executor did not run syscall ${call.sysno} within ${RUN_WITHIN_MS} ms`);
      pause();
    }
    if (g.status(index) === ST_DONE) return this.take(g, index);
    proc.parked.set(index, call);
    call.onCancel = () => {
      if (!proc.parked.has(index)) return;
      g.cancel(index);
      this.ring(proc);
      const until = Date.now() + RUN_WITHIN_MS;
      while (g.status(index) !== ST_DONE) {
        if (Date.now() > until) throw new Error(`the native executor did not answer the cancellation of syscall ${call.sysno}`);
        pause();
      }
      proc.parked.delete(index);
      call.complete(this.take(g, index));
    };
    this.startPump();
    return PENDING;
  }

  async close(): Promise<void> {
    for (const p of [...this.procs]) this.detach(p);
    if (this.pump) clearInterval(this.pump);
    this.pump = null;
    this.addon.destroyExecutor(this.executor);
  }

  /** The result of a DONE entry, which is then free again. */
  private take(g: FakeGuest, index: number): number {
    const r = g.result(index);
    g.free(index);
    return r;
  }

  /** Rings thread 0's doorbell when it sleeps, as libflexsc does. */
  private ring(proc: NativeProcess): void {
    const line = threadLineW(proc.guest.ctrl, 0);
    if (Atomics.load(proc.guest.i32, line + TW_NEEDS_WAKEUP) !== 0) {
      Atomics.add(proc.guest.i32, line + TW_DOORBELL, 1);
      this.addon.wake(proc.sab, (line + TW_DOORBELL) * 4);
    }
  }

  /** Completes parked calls whose entries turned DONE, while any are parked. */
  private startPump(): void {
    if (this.pump) return;
    this.pump = setInterval(() => {
      let waiting = 0;
      for (const proc of this.procs) {
        for (const [index, call] of proc.parked) {
          if (proc.guest.status(index) !== ST_DONE) {
            waiting++;
            continue;
          }
          proc.parked.delete(index);
          call.complete(this.take(proc.guest, index));
        }
      }
      if (waiting === 0 && this.pump) {
        clearInterval(this.pump);
        this.pump = null;
      }
    }, 1);
  }
}

const nap = new Int32Array(new SharedArrayBuffer(4));
/** A few microseconds off the CPU while the executor runs (two cores are shared by everything). */
function pause(): void {
  Atomics.wait(nap, 0, 0, 0.02);
}
