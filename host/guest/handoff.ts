import {
  ST_DONE, ST_SUBMITTED, ST_FREE, EW_STATUS, EW_SYSNO, EW_ARG0, EW_ARG1, EW_ARG2, EW_ARG3, EW_ARG4, EW_ARG5, EW_RET, EW_RET_HI, EW_FLAGS, EW_THREAD, EW_SEQ, EW_USER, CW_COMPLETIONS, CW_GUEST_WAITING, CW_SHUTDOWN, CW_SHIM_ENTRY, CW_SHIM_SEQ, CW_G_DOORBELLS, threadLineW, pagesSize, TW_DOORBELL, TW_NEEDS_WAKEUP, ENTRY_SIZE,
} from '../abi/v1.js';
// Spins are timed with process.hrtime: performance.now (global or node:perf_hooks) loads perf_hooks,
// which costs a guest worker's start-up several milliseconds.
import type { ControlLayout } from './control-block.js';
import { EXIT_INTERRUPTED, GuestExit } from '../errors.js';

/**
 * How a blocked guest thread sleeps and rings: V8's Atomics by default, the kernel's futex through
 * the native addon where the syscall threads are native (V8's waits are not futexes).
 */
export interface HandoffWaits {
  wait(i32: Int32Array, index: number, expected: number, timeoutMs: number): void;
  notify(i32: Int32Array, index: number): void;
}

export const V8_WAITS: HandoffWaits = {
  wait: (i32, index, expected, timeoutMs) => void Atomics.wait(i32, index, expected, timeoutMs),
  notify: (i32, index) => void Atomics.notify(i32, index),
};

/**
 * The synchronous hand-off from a guest thread to a syscall thread: the `syscall` import of the
 * sync mode and the WASI shim's calls. The caller blocks, as a trapping system call does: it spins
 * briefly (a polling syscall thread usually answers within a microsecond), then sleeps on the
 * completions word with `Atomics.wait` until its entry is DONE.
 */
export class Handoff {
  private readonly ctrlW: number;
  private readonly shimW: number;

  constructor(
    private readonly i32: Int32Array,
    private readonly layout: ControlLayout,
    private readonly threads: number,
    /** Descriptor routing like the guest library's: fd % threads in exceptionless mode, else 0. */
    private readonly spreadByFd: boolean,
    private readonly spinUs: number,
    private readonly waits: HandoffWaits = V8_WAITS,
  ) {
    this.ctrlW = layout.ctrl >> 2;
    this.shimW = this.ctrlW + CW_SHIM_ENTRY;
  }

  /** Rings thread `t`'s doorbell if it said it sleeps. */
  ring(t: number): void {
    const line = threadLineW(this.layout.ctrl, t);
    if (Atomics.load(this.i32, line + TW_NEEDS_WAKEUP) !== 0) {
      Atomics.add(this.i32, line + TW_DOORBELL, 1);
      this.waits.notify(this.i32, line + TW_DOORBELL); // all: stale waiters may sit in front
      this.i32[this.ctrlW + CW_G_DOORBELLS]!++;
    }
  }

  /** `flexvm.syscall`: the guest library has published the entry; wake its thread and wait. */
  syscall(entryPtr: number): void {
    const off = (entryPtr >>> 0) - this.layout.pagesPtr;
    if (off < 0 || off % ENTRY_SIZE !== 0 || off >= pagesSize(this.layout.pageCount)) return;
    const w = entryPtr >>> 2;
    // An entry that was never posted would never complete: return at once (as the epoll mode does).
    if (Atomics.load(this.i32, w + EW_STATUS) === ST_FREE) return;
    const t = this.i32[w + EW_THREAD]! >>> 0;
    this.ring(t < this.threads ? t : 0);
    this.waitDone(w);
  }

  /** Posts a call in the shim entry and waits for its result. */
  shimCall(nr: number, a0: number, a1: number, a2: number, a3: number, fdRouted: boolean): number {
    const i32 = this.i32;
    const w = this.shimW;
    const t = fdRouted && this.spreadByFd && a0 >= 0 ? a0 % this.threads : 0;
    i32[w + EW_SYSNO] = nr;
    i32[w + EW_ARG0] = a0;
    i32[w + EW_ARG1] = a1;
    i32[w + EW_ARG2] = a2;
    i32[w + EW_ARG3] = a3;
    i32[w + EW_ARG4] = 0;
    i32[w + EW_ARG5] = 0;
    i32[w + EW_FLAGS] = 0;
    i32[w + EW_SEQ] = 0;
    i32[w + EW_USER] = -1;
    i32[w + EW_THREAD] = t;
    Atomics.store(i32, w + EW_STATUS, ST_SUBMITTED);
    Atomics.add(i32, this.ctrlW + CW_SHIM_SEQ, 1);
    this.ring(t);
    this.waitDone(w);
    const lo = i32[w + EW_RET]! >>> 0;
    const hi = i32[w + EW_RET_HI]!;
    Atomics.store(i32, w + EW_STATUS, ST_FREE);
    return hi * 0x1_0000_0000 + lo;
  }

  private waitDone(w: number): void {
    const i32 = this.i32;
    if (Atomics.load(i32, w + EW_STATUS) === ST_DONE) return;
    if (this.spinUs > 0) {
      const until = process.hrtime.bigint() + BigInt(Math.round(this.spinUs * 1000));
      do {
        for (let i = 0; i < 64; i++) if (Atomics.load(i32, w + EW_STATUS) === ST_DONE) return;
      } while (process.hrtime.bigint() < until);
    }
    const completions = this.ctrlW + CW_COMPLETIONS;
    Atomics.store(i32, this.ctrlW + CW_GUEST_WAITING, 1);
    try {
      for (;;) {
        const seen = Atomics.load(i32, completions);
        if (Atomics.load(i32, w + EW_STATUS) === ST_DONE) return;
        if (Atomics.load(i32, this.ctrlW + CW_SHUTDOWN) !== 0) throw new GuestExit(EXIT_INTERRUPTED, 'stopped by the host');
        this.waits.wait(i32, completions, seen, 100);
      }
    } finally {
      Atomics.store(i32, this.ctrlW + CW_GUEST_WAITING, 0);
    }
  }
}
