import { V8_WAITS, type HandoffWaits } from '../guest/handoff.js';
// Spins are timed with process.hrtime: performance.now (global or node:perf_hooks) loads perf_hooks,
// which costs a guest worker's start-up several milliseconds.
import {
  ABI_VERSION, MAGIC, ENTRY_SIZE, ENTRIES_PER_PAGE, PAGE_SIZE, THREAD_LINES, ctrlSize, subMaskOffset, doneMaskOffset,
  ST_FREE, ST_SUBMITTED, ST_DONE, MODE_EXCEPTIONLESS, EW_STATUS, EW_SYSNO, EW_ARG0, EW_RET, EW_RET_HI, EW_USER, EW_FLAGS,
  EW_SEQ, EW_THREAD, CW_MAGIC, CW_VERSION, CW_CTRL_SIZE, CW_PAGE_COUNT, CW_PAGES_PTR, CW_ENTRY_SIZE, CW_THREAD_COUNT,
  CW_MODE, CW_COMPLETIONS, CW_GUEST_WAITING, CW_SHUTDOWN, CW_G_SUBMITTED, CW_G_WAITS, CW_G_DOORBELLS, CW_G_SYNC_CALLS,
  CW_G_POLLS, T_SQ_TAIL, T_DOORBELL, T_NEEDS_WAKEUP,
} from '../abi/v1.js';
import { EXIT_INTERRUPTED, GuestExit } from '../errors.js';

/** Exit status of a program stopped by the host (like a shell's 128 + SIGINT). */
/** Syscall pages of a WASI program: 4 pages of 64 entries (a poll_oneoff or a path walk needs a few). */
export const WASI_PAGES = 4;
/** Spin before sleeping on the completions word: a polling syscall thread answers within microseconds. */
const SPIN_US = 20;

/** One Linux system call: number and up to six 32-bit argument words. */
export interface SysCall {
  readonly nr: number;
  readonly args: readonly number[];
  /** The descriptor it works on (routes it to the thread that owns it), or -1. */
  readonly fd: number;
}

/**
 * The WASI program's side of the syscall pages: what libflexsc does for an AssemblyScript guest,
 * done by the host on the program's behalf (the program itself never sees them). The control block
 * and pages live in the host region the loader reserved above the program's memory.
 *
 * In `exceptionless` mode a WASI call's system calls are posted to the pages of the threads that
 * own their descriptors (several at once when a WASI call needs several), published, and waited for
 * in the import: spinning first, then sleeping on the completions word. In `sync` mode each call is
 * one hand-off to syscall thread 0 through `handOff` (the `flexvm.syscall` path, a mode switch).
 */
export class SyscallPort {
  readonly ctrl: number;
  readonly pagesPtr: number;
  /** Host-owned scratch bytes after the pages (paths, stat records, iovecs built by the shim). */
  readonly scratch: number;
  readonly scratchBytes: number;
  private readonly ctrlW: number;
  private threads = 1;
  private mode = MODE_EXCEPTIONLESS;
  private readonly sqTail: number[] = [];
  private readonly free: number[][] = [];
  private anyThread = 0;

  constructor(
    private readonly i32: Int32Array,
    region: number,
    regionBytes: number,
    /** sync mode: hands an entry over and returns when it is DONE. */
    private readonly handOff: (entryPtr: number) => void,
    /** How this thread sleeps and rings (the kernel's futex through the addon under the native kernel). */
    private readonly waits: HandoffWaits = V8_WAITS,
  ) {
    const size = ctrlSize(WASI_PAGES);
    this.ctrl = region;
    this.ctrlW = region >> 2;
    this.pagesPtr = region + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    this.scratch = this.pagesPtr + WASI_PAGES * PAGE_SIZE;
    this.scratchBytes = region + regionBytes - this.scratch;
    const w = this.ctrlW;
    i32.fill(0, w, w + (size >> 2));
    i32.fill(0, this.pagesPtr >> 2, (this.pagesPtr + WASI_PAGES * PAGE_SIZE) >> 2);
    i32[w + CW_MAGIC] = MAGIC;
    i32[w + CW_VERSION] = ABI_VERSION;
    i32[w + CW_CTRL_SIZE] = size;
    i32[w + CW_PAGE_COUNT] = WASI_PAGES;
    i32[w + CW_PAGES_PTR] = this.pagesPtr;
    i32[w + CW_ENTRY_SIZE] = ENTRY_SIZE;
  }

  /** After registration: the threads and mode the host chose. */
  attached(): void {
    const threads = this.i32[this.ctrlW + CW_THREAD_COUNT]!;
    this.threads = threads >= 1 && threads <= WASI_PAGES ? threads : 1;
    this.mode = this.i32[this.ctrlW + CW_MODE]!;
    for (let t = 0; t < this.threads; t++) {
      this.sqTail[t] = 0;
      const list: number[] = [];
      for (let p = WASI_PAGES - 1; p >= 0; p--) {
        if (p % this.threads !== t) continue;
        for (let e = ENTRIES_PER_PAGE - 1; e >= 0; e--) list.push(p * ENTRIES_PER_PAGE + e);
      }
      this.free[t] = list;
    }
  }

  get exceptionless(): boolean {
    return this.mode === MODE_EXCEPTIONLESS;
  }

  /** Runs one call; returns its 64-bit result (as a number). */
  call(nr: number, fd: number, ...args: number[]): number {
    return this.run([{ nr, fd, args }])[0]!;
  }

  /**
   * Runs several calls. In exceptionless mode they are all in flight at once (the caller must not
   * depend on their order unless they share a descriptor, which keeps them in order on its thread);
   * in sync mode they run one after another.
   */
  run(calls: readonly SysCall[]): number[] {
    if (!this.exceptionless) return calls.map((c) => this.handOffOne(c));
    const out: number[] = [];
    for (let i = 0; i < calls.length; i += 64) {
      const chunk = calls.slice(i, i + 64);
      const entries = chunk.map((c) => this.post(c, this.threadFor(c.fd)));
      this.publish();
      this.waitAll(entries);
      for (const e of entries) out.push(this.take(e));
    }
    return out;
  }

  private threadFor(fd: number): number {
    if (fd >= 0) return fd % this.threads;
    const t = this.anyThread;
    this.anyThread = t + 1 === this.threads ? 0 : t + 1;
    return t;
  }

  private entryW(index: number): number {
    return (this.pagesPtr + index * ENTRY_SIZE) >> 2;
  }

  /** Writes a call into a free entry of thread t (not yet visible: publish does that). */
  private post(c: SysCall, t: number): number {
    const index = this.free[t]!.pop();
    if (index === undefined) throw new Error('WASI syscall pages exhausted'); // at most 64 per batch, 64 per page
    const i32 = this.i32;
    const w = this.entryW(index);
    i32[w + EW_SYSNO] = c.nr;
    for (let a = 0; a < 6; a++) i32[w + EW_ARG0 + a] = c.args[a] ?? 0;
    i32[w + EW_USER] = index;
    i32[w + EW_FLAGS] = 0;
    i32[w + EW_SEQ] = this.sqTail[t]!;
    i32[w + EW_THREAD] = t;
    this.sqTail[t]!++;
    Atomics.store(i32, w + EW_STATUS, ST_SUBMITTED);
    const page = index >> 6;
    const mask = this.ctrlW + ((subMaskOffset(WASI_PAGES) + page * 8) >> 2) + ((index & 32) !== 0 ? 1 : 0);
    Atomics.or(i32, mask, 1 << (index & 31));
    i32[this.ctrlW + CW_G_SUBMITTED]!++;
    return index;
  }

  /** Moves each thread's tail (entries below it are visible) and rings the sleepers. */
  private publish(): void {
    for (let t = 0; t < this.threads; t++) {
      const line = this.ctrlW + ((THREAD_LINES + t * 64) >> 2);
      if (Atomics.load(this.i32, line + (T_SQ_TAIL >> 2)) === this.sqTail[t]) continue;
      Atomics.store(this.i32, line + (T_SQ_TAIL >> 2), this.sqTail[t]!);
      this.ring(line);
    }
  }

  private ring(line: number): void {
    if (Atomics.load(this.i32, line + (T_NEEDS_WAKEUP >> 2)) !== 0) {
      Atomics.add(this.i32, line + (T_DOORBELL >> 2), 1);
      this.waits.notify(this.i32, line + (T_DOORBELL >> 2));
      this.i32[this.ctrlW + CW_G_DOORBELLS]!++;
    }
  }

  private allDone(entries: readonly number[]): boolean {
    for (const e of entries) if (Atomics.load(this.i32, this.entryW(e) + EW_STATUS) !== ST_DONE) return false;
    return true;
  }

  /** Waits in the import until every entry is DONE: spin first, then sleep on the completions word. */
  private waitAll(entries: readonly number[]): void {
    const i32 = this.i32;
    i32[this.ctrlW + CW_G_POLLS]!++;
    if (this.allDone(entries)) return;
    const until = process.hrtime.bigint() + BigInt(Math.round(SPIN_US * 1000));
    do {
      for (let i = 0; i < 64; i++) if (this.allDone(entries)) return;
    } while (process.hrtime.bigint() < until);
    const completions = this.ctrlW + CW_COMPLETIONS;
    Atomics.store(i32, this.ctrlW + CW_GUEST_WAITING, 1);
    try {
      for (;;) {
        const seen = Atomics.load(i32, completions);
        if (this.allDone(entries)) return;
        if (Atomics.load(i32, this.ctrlW + CW_SHUTDOWN) !== 0) throw new GuestExit(EXIT_INTERRUPTED, 'stopped by the host');
        i32[this.ctrlW + CW_G_WAITS]!++;
        this.waits.wait(i32, completions, seen, 50);
      }
    } finally {
      Atomics.store(i32, this.ctrlW + CW_GUEST_WAITING, 0);
      this.clearDoneMasks();
    }
  }

  /** The host sets done-mask bits for every completion; nothing here reads them, so drop them. */
  private clearDoneMasks(): void {
    const base = this.ctrlW + (doneMaskOffset(WASI_PAGES) >> 2);
    for (let w = 0; w < WASI_PAGES * 2; w++) if (this.i32[base + w] !== 0) Atomics.store(this.i32, base + w, 0);
  }

  /** Reads an entry's result and frees it. */
  private take(index: number): number {
    const w = this.entryW(index);
    const lo = this.i32[w + EW_RET]! >>> 0;
    const hi = this.i32[w + EW_RET_HI]!;
    Atomics.store(this.i32, w + EW_STATUS, ST_FREE);
    this.free[this.i32[w + EW_THREAD]!]!.push(index);
    return hi * 0x1_0000_0000 + lo;
  }

  /** sync mode: entry 0 on thread 0, published like libflexsc's sync entry, handed over. */
  private handOffOne(c: SysCall): number {
    const w = this.entryW(0);
    const i32 = this.i32;
    i32[w + EW_SYSNO] = c.nr;
    for (let a = 0; a < 6; a++) i32[w + EW_ARG0 + a] = c.args[a] ?? 0;
    i32[w + EW_USER] = 0;
    i32[w + EW_FLAGS] = 0;
    i32[w + EW_THREAD] = 0;
    i32[this.ctrlW + CW_G_SUBMITTED]!++;
    i32[this.ctrlW + CW_G_SYNC_CALLS]!++;
    i32[w + EW_SEQ] = this.sqTail[0]!;
    Atomics.store(i32, w + EW_STATUS, ST_SUBMITTED);
    this.sqTail[0]!++;
    Atomics.or(i32, this.ctrlW + (subMaskOffset(WASI_PAGES) >> 2), 1);
    const line = this.ctrlW + (THREAD_LINES >> 2);
    Atomics.store(i32, line + (T_SQ_TAIL >> 2), this.sqTail[0]!);
    this.handOff(this.pagesPtr);
    if (Atomics.load(i32, w + EW_STATUS) !== ST_DONE) {
      if (Atomics.load(i32, this.ctrlW + CW_SHUTDOWN) !== 0) throw new GuestExit(EXIT_INTERRUPTED, 'stopped by the host');
    }
    const lo = i32[w + EW_RET]! >>> 0;
    const hi = i32[w + EW_RET_HI]!;
    Atomics.store(i32, w + EW_STATUS, ST_FREE);
    return hi * 0x1_0000_0000 + lo;
  }
}
