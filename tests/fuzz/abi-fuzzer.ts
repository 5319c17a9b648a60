/**
 * The ABI fuzzer: a host-side driver that plays a hostile guest against the real host half of the
 * protocol (SyscallThread) and a real kernel (virtual or os), or against the native addon's C++
 * syscall threads making real Linux calls (native: no connect() allowed, no grants), writing straight into the guest's
 * shared memory: random and adversarial entries (every status value, random syscall numbers,
 * pointers at and past the end of memory, lengths that wrap, entries rewritten while BUSY, cancels of
 * FREE entries, tails that jump, a control block scribbled on mid-run), seeded so that a failure
 * replays. The host must never throw or hang: every entry the fuzzer posted and did not itself
 * corrupt ends DONE with a sensible result (a value, or -errno from the ABI's table; -ENOSYS for a
 * number the kernel does not implement), cancelled ones included.
 *
 * Used by tests/abi-fuzz.test.ts (a short seeded run per kernel) and `npm run fuzz` (long runs).
 */
import {
  ABI_VERSION, C_CTRL_SIZE, C_ENTRY_SIZE, C_MAGIC, C_PAGE_COUNT, C_PAGES_PTR, C_VERSION, E_ARG0, E_FLAGS,
  E_RET, E_RET_HI, E_SEQ, E_SYSNO, E_THREAD, ENOSYS, ENTRIES_PER_PAGE, ENTRY_SIZE, ERRNO_NAMES, MAGIC,
  PAGE_SIZE, ST_BUSY, ST_CANCEL, ST_DONE, ST_FREE, ST_SUBMITTED, SYSCALLS, TW_CANCEL_TAIL, TW_DOORBELL, TW_SQ_TAIL, EW_STATUS,
  ctrlSize, subMaskOffset, entryW, maskW, threadLineW, hostLineW, HW_NEXT_SEQ,
} from '../../host/abi/v1.js';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { DEFAULT_LIMITS, type Kernel, type ProcessSpec } from '../../host/kernel/kernel.js';
import { OS_SYSCALLS, OsKernel, PROCESS_SHARED_BYTES } from '../../host/kernel/os/index.js';
import { VIRTUAL_SYSCALLS, VirtualKernel } from '../../host/kernel/virtual/index.js';
import { GuestMemory } from '../../host/memory/guest-memory.js';
import { acceptControlBlock, isRefusal, validateControlBlock } from '../../host/guest/control-block.js';
import { ServedGuest } from '../../host/syscall/served-guest.js';
import { SyscallThread } from '../../host/syscall/syscall-thread.js';
import { VmShared } from '../../host/syscall/vm-shared.js';
import { prng } from './prng.js';

export type FuzzKernel = 'virtual' | 'os' | 'native';

export interface FuzzOptions {
  readonly kernel: FuzzKernel;
  readonly seed: number;
  /** Entries to post (adversarial actions come on top). */
  readonly entries: number;
  /** Syscall threads (default 2). */
  readonly threads?: number;
  /** How long the final drain may take before an entry counts as hung (default 5 s). */
  readonly drainMs?: number;
}

export interface FuzzReport {
  readonly kernel: FuzzKernel;
  readonly seed: number;
  /** Entries posted, and how they ended. */
  posted: number;
  completed: number;
  /** Completed entries that were held to the promise (posted into an entry never recycled, before no jump). */
  kept: number;
  cancelled: number;
  /** Adversarial actions: entries rewritten while in flight, statuses forced, FREE entries cancelled, tail jumps, control-block scribbles. */
  rewrites: number;
  forced: number;
  freeCancels: number;
  tailJumps: number;
  /** Calls posted (or rewritten) with pointers that can make the host write into the protocol area (one in 200 posts). */
  hazards: number;
  scribbles: number;
  /** Lines the host logged (must stay bounded: diagnostics are rate-limited). */
  logLines: number;
  /** Broken promises: a thrown pass, a hung entry, a senseless result. Empty when the host held. */
  readonly failures: string[];
}

const KNOWN_ERRNOS = new Set(Object.keys(ERRNO_NAMES).map(Number));
const PAGES = 4;
const MEMORY_PAGES = 16; // 1 MiB of guest memory

/**
 * An entry the fuzzer posted. `promised`: it must end DONE. The final drain cancels whatever is
 * left, and the host must answer every cancel it sees, so an entry the host skipped (a jumped
 * tail it resynchronised at, a scribbled mask) still ends DONE. Only the guest's own breaches
 * lift the promise:
 * - a seq at or beyond its thread's final tail (the tail moved back after the post): the host
 *   rightly waits for a tail that covers it;
 * - a posting that repeats an (entry, seq) pair looks to the native host like the one it claimed;
 * - a call that can write into the protocol area (a hazard) may overwrite anything the fuzzer
 *   relies on while it is in flight;
 * - a cancel tail that ends on a value published before may look unchanged to the host;
 * - an entry cancelled before a scribble on its page's submission mask word: the scribble may
 *   erase the bit that told the host of the cancel, and a guest cancels only once;
 * - an entry once forced FREE under the host (recycled).
 * Entries without a promise are still checked for sensible results when they complete.
 */
type Tracked = {
  sysno: number; seq: number; thread: number; cancelled: boolean; promised: boolean; rewritten: boolean;
  /** In flight while a hazard was: its result words may hold what the hazard wrote, so they are not judged. */
  exposed: boolean;
};

/** The ABI's argument slots that the host takes as guest pointers, by syscall number. */
const POINTER_SLOTS = new Map(SYSCALLS.map((s) => [s.nr, s.args.filter((a) => a.type === 'ptr' || a.type === 'cstr').map((a) => a.slot)]));

class Fuzz {
  readonly rnd: () => number;
  readonly wasm = new WebAssembly.Memory({ initial: MEMORY_PAGES, maximum: MEMORY_PAGES, shared: true });
  readonly mem = new GuestMemory(this.wasm);
  readonly i32 = new Int32Array(this.wasm.buffer);
  readonly ctrl = 4096;
  readonly pagesPtr: number;
  readonly scratch: number;
  readonly end = MEMORY_PAGES * 65536;
  readonly sqTail: number[];
  readonly cancelTail: number[];
  /** Entries posted and not corrupted by the fuzzer: each must end DONE. */
  readonly tracked = new Map<number, Tracked>();
  /**
   * Entries the fuzzer corrupted (status forced, FREE cancelled), with the step it did: no promise;
   * recycled (forced FREE, whatever the host is doing with them) some steps later.
   */
  readonly poisoned = new Map<number, number>();
  /**
   * Entries once recycled: the host may still be running the call the fuzzer took them from (a
   * guest that frees a BUSY entry breaks the protocol), and may answer it, or lose track of the next
   * call there; so calls posted into them are checked for sensible results but may stay unanswered.
   */
  readonly recycled = new Set<number>();
  /**
   * Entries whose call may make the host write into the protocol area (control block and pages),
   * as a guest that passes its own syscall page as a read buffer does: while one is in flight the
   * guest's bookkeeping may be overwritten, so nothing posted then is promised.
   */
  readonly hazards = new Map<number, number>();
  /**
   * How often each value of a thread's cancel tail was published (0 counts as published at the
   * start). The host looks at the cancels when the tail differs from the value it last read, so a
   * final value published before (a scribbled tail come back round) may hide the last cancels.
   */
  readonly cancelValues: Map<number, number>[];
  /** Every (entry, seq) posted: a posting that repeats one (after a tail moved back) looks claimed to the host. */
  readonly postings = new Set<string>();
  steps = 0;
  readonly implemented: Set<number>;

  constructor(
    readonly o: Required<FuzzOptions>,
    readonly report: FuzzReport,
  ) {
    this.rnd = prng(o.seed);
    this.pagesPtr = (this.ctrl + ctrlSize(PAGES) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    this.scratch = this.pagesPtr + PAGES * PAGE_SIZE;
    this.sqTail = new Array(o.threads).fill(0);
    this.cancelTail = new Array(o.threads).fill(0);
    this.cancelValues = Array.from({ length: o.threads }, () => new Map([[0, 1]]));
    // The native kernel implements the whole ABI table (its C++ Table()).
    this.implemented = new Set(o.kernel === 'os' ? OS_SYSCALLS : o.kernel === 'native' ? SYSCALLS.map((s) => s.nr) : VIRTUAL_SYSCALLS);
    const m = this.mem;
    m.setU32(this.ctrl + C_MAGIC, MAGIC);
    m.setU32(this.ctrl + C_VERSION, ABI_VERSION);
    m.setU32(this.ctrl + C_CTRL_SIZE, ctrlSize(PAGES));
    m.setU32(this.ctrl + C_PAGE_COUNT, PAGES);
    m.setU32(this.ctrl + C_PAGES_PTR, this.pagesPtr);
    m.setU32(this.ctrl + C_ENTRY_SIZE, ENTRY_SIZE);
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  entryAddr(index: number): number {
    return this.pagesPtr + index * ENTRY_SIZE;
  }
  /** The entry's status word (an index into i32). */
  statusW(index: number): number {
    return entryW(this.pagesPtr, index) + EW_STATUS;
  }
  status(index: number): number {
    return Atomics.load(this.i32, this.statusW(index));
  }
  /** A word of thread line `t` (`field`: a TW_ word offset), as an index into i32. */
  threadWord(t: number, field: number): number {
    return threadLineW(this.ctrl, t) + field;
  }
  setSubBit(index: number): void {
    const page = Math.floor(index / ENTRIES_PER_PAGE);
    const word = maskW(this.ctrl + subMaskOffset(PAGES), page) + (index & 32 ? 1 : 0);
    Atomics.or(this.i32, word, 1 << (index & 31));
  }

  /** An argument: mostly the values that break things. */
  arg(): number {
    const r = this.int(12);
    if (r === 0) return 0;
    if (r === 1) return this.pick([1, 2, 3, -1, -100, 0x7fffffff, -0x80000000, 0xffff, 4096]);
    if (r === 2) return this.end - this.pick([0, 1, 4, 8, 16, 64]); // at the end of memory
    if (r === 3) return this.end + this.int(1 << 20); // past it
    if (r === 4) return (0xffffffff - this.int(4096)) | 0; // lengths and pointers that wrap
    if (r <= 7) return this.scratch + this.int(this.end - this.scratch - 256); // valid, in scratch memory
    if (r <= 9) return this.int(24); // descriptors
    return (this.rnd() * 0x1_0000_0000) | 0;
  }

  /**
   * Six arguments for a call, none of which can make the host write into the protocol area: a
   * pointer argument that could is moved into scratch memory. One call in 200 is a deliberate
   * hazard instead, a pointer into the control block or the pages (a guest abusing its own pages
   * is a case too; while it is in flight nothing is promised).
   */
  args(sysno: number): number[] {
    const args = Array.from({ length: 6 }, () => this.arg());
    const pointers = POINTER_SLOTS.get(sysno) ?? [];
    if (pointers.length > 0 && this.rnd() < 0.005) {
      args[this.pick(pointers)] = this.ctrl + this.int(this.scratch - this.ctrl);
      return args;
    }
    if (this.reachesProtocolArea(sysno, args)) for (const slot of pointers) if (args[slot]! >>> 0 < this.scratch) args[slot] = this.scratch + this.int(this.end - this.scratch - 256);
    return args;
  }

  sysno(): number {
    const r = this.int(10);
    if (r < 7) return this.pick([...this.implemented]);
    if (r < 9) return this.int(512);
    return (this.rnd() * 0x1_0000_0000) | 0;
  }

  freeEntry(t: number): number {
    const start = this.int(PAGES * ENTRIES_PER_PAGE);
    for (let k = 0; k < PAGES * ENTRIES_PER_PAGE; k++) {
      const index = (start + k) % (PAGES * ENTRIES_PER_PAGE);
      if (Math.floor(index / ENTRIES_PER_PAGE) % this.o.threads !== t) continue;
      if (this.tracked.has(index) || this.poisoned.has(index) || this.status(index) !== ST_FREE) continue;
      return index;
    }
    return -1;
  }

  post(t: number, sysno: number, args: number[], flags: number): boolean {
    const index = this.freeEntry(t);
    if (index < 0) return false;
    const e = this.entryAddr(index);
    const m = this.mem;
    m.setI32(e + E_SYSNO, sysno);
    for (let i = 0; i < 6; i++) m.setI32(e + E_ARG0 + i * 4, args[i] ?? 0);
    m.setI32(e + E_FLAGS, flags);
    m.setI32(e + E_SEQ, this.sqTail[t]!);
    m.setI32(e + E_THREAD, t);
    const posting = `${index}:${this.sqTail[t]! | 0}`;
    const fresh = !this.postings.has(posting);
    this.postings.add(posting);
    const hazard = this.reachesProtocolArea(sysno, args);
    if (hazard) {
      this.hazards.set(index, this.steps);
      this.expose();
      this.report.hazards++;
    }
    const promised = fresh && !hazard && this.hazards.size === 0 && !this.recycled.has(index);
    this.tracked.set(index, { sysno, seq: this.sqTail[t]!, thread: t, cancelled: false, promised, rewritten: false, exposed: this.hazards.size > 0 });
    Atomics.store(this.i32, this.statusW(index), ST_SUBMITTED);
    this.setSubBit(index);
    this.sqTail[t]!++;
    Atomics.store(this.i32, this.threadWord(t, TW_SQ_TAIL), this.sqTail[t]!);
    this.report.posted++;
    return true;
  }

  /** libflexsc's cancel: SUBMITTED or BUSY -> CANCEL, then the cancel tail. */
  cancel(index: number): boolean {
    return this.cancelFrom(index) !== 0;
  }
  /** The same; which state the cancel took the entry from (ST_SUBMITTED: it will never run), or 0. */
  cancelFrom(index: number): number {
    const w = this.statusW(index);
    let from = Atomics.compareExchange(this.i32, w, ST_SUBMITTED, ST_CANCEL) === ST_SUBMITTED ? ST_SUBMITTED : 0;
    if (!from) from = Atomics.compareExchange(this.i32, w, ST_BUSY, ST_CANCEL) === ST_BUSY ? ST_BUSY : 0;
    if (!from) return 0;
    // Cancelled before the host claimed it: it is answered without running, so it is no hazard.
    if (from === ST_SUBMITTED) this.hazards.delete(index);
    const t = this.tracked.get(index)?.thread ?? Math.floor(index / ENTRIES_PER_PAGE) % this.o.threads;
    this.setSubBit(index);
    this.cancelTail[t]!++;
    this.publishCancelTail(t);
    return from;
  }

  /** What a stranded entry's failure says: enough to trace it (its seq against the tails and the host's). */
  describe(index: number, tr: Tracked): string {
    const t = tr.thread;
    const hostNext = Atomics.load(this.i32, hostLineW(this.ctrl, t) + HW_NEXT_SEQ);
    const memSeq = this.mem.i32At(this.entryAddr(index) + E_SEQ);
    return `syscall ${tr.sysno}, status ${this.status(index)}, thread ${t}, seq ${tr.seq}${memSeq !== (tr.seq | 0) ? ` (${memSeq} in memory)` : ''}; sq tail ${this.sqTail[t]}, cancel tail ${this.cancelTail[t]} (published ${this.cancelValues[t]!.get(this.cancelTail[t]!) ?? 0} times), host next seq ${hostNext}`;
  }

  /**
   * Whether a call could make the host write into [ctrl, scratch): a pointer argument below
   * scratch that, with any numeric argument as its length (or a count of 16-byte records), or with
   * a structure of up to 512 bytes, reaches the protocol area without running off the memory.
   */
  reachesProtocolArea(sysno: number, args: number[]): boolean {
    for (const slot of POINTER_SLOTS.get(sysno) ?? []) {
      const p = args[slot]! >>> 0;
      if (p >= this.scratch) continue;
      if (p + 512 > this.ctrl) return true;
      for (let j = 0; j < 6; j++) {
        const n = args[j]! >>> 0;
        for (const reach of [n, n * 16]) if (p + reach > this.ctrl && p + reach <= this.end) return true;
      }
    }
    return false;
  }

  /** A hazard starts: nothing in flight is promised or judged by its result any more. */
  expose(): void {
    for (const tr of this.tracked.values()) {
      tr.promised = false;
      tr.exposed = true;
    }
  }

  /**
   * A scribble on word `w`: if it is a submission mask word, the cancels it held (entries of its
   * half page already CANCEL, their bit maybe not yet taken by the host) may be erased, and the
   * guest will not cancel them again: no promise for them. (Entries still SUBMITTED lose their bit
   * too, but a later cancel sets it again, and the host answers a cancel behind its tail.)
   */
  eraseCancelNotices(w: number): void {
    const first = maskW(this.ctrl + subMaskOffset(PAGES), 0);
    const k = w - first;
    if (k < 0 || k >= PAGES * 2) return;
    const from = (k >> 1) * ENTRIES_PER_PAGE + (k & 1) * 32;
    for (let index = from; index < from + 32; index++) {
      const tr = this.tracked.get(index);
      if (tr && tr.promised && this.status(index) === ST_CANCEL) tr.promised = false;
    }
  }

  /** Publishes thread t's cancel tail; counts the value. */
  publishCancelTail(t: number): void {
    Atomics.store(this.i32, this.threadWord(t, TW_CANCEL_TAIL), this.cancelTail[t]!);
    this.noteCancelValue(t);
  }
  noteCancelValue(t: number): void {
    const v = this.cancelTail[t]!;
    this.cancelValues[t]!.set(v, (this.cancelValues[t]!.get(v) ?? 0) + 1);
  }

  /**
   * The drain's verdict on cancels the host may never look at: where a thread's final cancel tail
   * is a value it had published before, the host may have read it then and see no change now, so
   * its entries still CANCEL are the guest's own strands, not the host's.
   */
  releaseHiddenCancels(): void {
    for (const [index, tr] of this.tracked) {
      if (tr.promised && (this.cancelValues[tr.thread]!.get(this.cancelTail[tr.thread]!) ?? 0) > 1 && this.status(index) === ST_CANCEL) tr.promised = false;
    }
  }

  /**
   * The drain's verdict on the guest's own strands:
   * - an entry whose seq is at or beyond its thread's final tail (the tail moved back after it was
   *   posted: a jump or a scribble): the host rightly waits for a tail that covers it;
   * - an entry whose seq or status is not what the fuzzer wrote (only the host writes a status,
   *   BUSY or DONE, and never a seq): one of the guest's own calls wrote over it, through pointers
   *   the hazard check does not follow (iovecs and message headers in scratch memory hold
   *   whatever earlier calls left there).
   * Every other entry is answered once cancelled, wherever the host's view of the tail went.
   */
  releaseOwnStrands(): void {
    for (const [index, tr] of this.tracked) {
      if (!tr.promised) continue;
      const st = this.status(index);
      const ahead = ((tr.seq - this.sqTail[tr.thread]!) >>> 0) < 0x8000_0000;
      const overwritten = this.mem.i32At(this.entryAddr(index) + E_SEQ) !== (tr.seq | 0) || (st !== ST_SUBMITTED && st !== ST_BUSY && st !== ST_CANCEL && st !== ST_DONE);
      if (ahead || overwritten) tr.promised = false;
    }
  }

  /**
   * Hazards end when their call is over: DONE, or cancelled before the host claimed it (then it
   * never runs). One still in flight after 16 steps (a call that waits, or one the host passed
   * over) is cancelled, as a guest gives up on a call; the host answers the cancel of a call it
   * holds at once, so one still unanswered 64 steps later was never claimed (its seq ahead of a
   * tail moved back, or its status overwritten by another hazard) and never runs.
   */
  settleHazards(): void {
    for (const [index, since] of this.hazards) {
      const tr = this.tracked.get(index);
      const st = this.status(index);
      if (!tr) {
        if (!this.poisoned.has(index)) this.hazards.delete(index);
        continue;
      }
      if (st === ST_DONE || this.steps - since > 80) this.hazards.delete(index);
      else if (this.steps - since > 16 && !tr.cancelled && this.cancel(index)) tr.cancelled = true;
    }
  }

  /** Takes the results of DONE entries, checks them, frees the entries; recycles old poisoned ones. */
  harvest(): void {
    this.settleHazards();
    for (const [index, at] of this.poisoned) {
      if (this.steps - at < 2048 && this.poisoned.size < (PAGES * ENTRIES_PER_PAGE) / 2) continue;
      Atomics.store(this.i32, this.statusW(index), ST_FREE);
      this.poisoned.delete(index);
      this.recycled.add(index);
    }
    for (const [index, tr] of this.tracked) {
      if (this.status(index) !== ST_DONE) continue;
      const e = this.entryAddr(index);
      const r = this.mem.i32At(e + E_RET_HI) * 0x1_0000_0000 + this.mem.u32(e + E_RET);
      if (r < 0 && !tr.exposed) {
        if (r < -4095 || !KNOWN_ERRNOS.has(-r)) this.report.failures.push(`seed ${this.o.seed}: syscall ${tr.sysno} answered ${r}, not an errno of the ABI`);
        if (!this.implemented.has(tr.sysno) && r !== -ENOSYS && !tr.cancelled && !tr.rewritten && !this.recycled.has(index)) {
          this.report.failures.push(`seed ${this.o.seed}: unimplemented syscall ${tr.sysno} answered ${r}, not -ENOSYS`);
        }
      }
      if (tr.cancelled) this.report.cancelled++;
      if (tr.promised) this.report.kept++;
      this.report.completed++;
      this.tracked.delete(index);
      Atomics.store(this.i32, this.statusW(index), ST_FREE);
    }
  }

  /** One adversarial or ordinary step. */
  step(): void {
    this.steps++;
    const t = this.int(this.o.threads);
    const a = this.int(100);
    const inflight = [...this.tracked.keys()];
    if (a < 70 || inflight.length === 0) {
      const sysno = this.sysno();
      const flags = this.pick([0, 0, 0, 1, 1, (this.rnd() * 0x1_0000_0000) | 0]);
      if (!this.post(t, sysno, this.args(sysno), flags)) {
        // Every entry of the thread is taken (calls that wait): cancel some, as a guest would.
        for (const [index, tr] of this.tracked) if (tr.thread === t && this.rnd() < 0.25 && this.cancel(index)) tr.cancelled = true;
      }
    } else if (a < 78) {
      // Rewrite an entry in flight (its arguments, even its number): the host read what it needed
      // when it claimed it, or reads the new values; either way no crash.
      const index = this.pick(inflight);
      const e = this.entryAddr(index);
      const sysno = this.rnd() < 0.2 ? this.sysno() : this.mem.i32At(e + E_SYSNO);
      const fresh = this.args(sysno);
      for (let i = 0; i < 6; i++) if (this.rnd() < 0.5) this.mem.setI32(e + E_ARG0 + i * 4, fresh[i]!);
      this.mem.setI32(e + E_SYSNO, sysno);
      this.tracked.get(index)!.rewritten = true;
      const args = Array.from({ length: 6 }, (_, i) => this.mem.i32At(e + E_ARG0 + i * 4));
      if (this.reachesProtocolArea(this.mem.i32At(e + E_SYSNO), args) && !this.hazards.has(index)) {
        this.hazards.set(index, this.steps);
        this.expose();
        this.report.hazards++;
      }
      this.report.rewrites++;
    } else if (a < 84) {
      const index = this.pick(inflight);
      if (this.cancel(index)) this.tracked.get(index)!.cancelled = true;
    } else if (a < 85) {
      // Force a status (any value) onto an entry in flight: the fuzzer gives up on it. (Not on a
      // hazard: the fuzzer must see that call end.)
      const index = this.pick(inflight);
      if (this.hazards.has(index)) return;
      Atomics.store(this.i32, this.statusW(index), this.pick([ST_FREE, ST_SUBMITTED, ST_BUSY, ST_DONE, ST_CANCEL, 5, 7, -1, 0x7fffffff]));
      this.setSubBit(index);
      this.tracked.delete(index);
      this.poisoned.set(index, this.steps);
      this.report.forced++;
    } else if (a < 86) {
      // Cancel a FREE entry (status CANCEL written over FREE, its bit and the cancel tail bumped).
      const index = this.freeEntry(t);
      if (index >= 0) {
        Atomics.store(this.i32, this.statusW(index), ST_CANCEL);
        this.setSubBit(index);
        this.cancelTail[t]!++;
        this.publishCancelTail(t);
        this.poisoned.set(index, this.steps);
        this.report.freeCancels++;
      }
    } else if (a < 87) {
      // The tail jumps (forwards or backwards); the guest then carries on from the new value, so
      // entries posted before it that the host had not taken are stranded until cancelled.
      const jump = this.pick([1, 2, 63, 64, 65, 4096, 1 << 30, -1, -64, (this.rnd() * 0x1_0000_0000) | 0]);
      this.sqTail[t] = (this.sqTail[t]! + jump) | 0;
      Atomics.store(this.i32, this.threadWord(t, TW_SQ_TAIL), this.sqTail[t]!);
      this.report.tailJumps++;
    } else if (a < 88) {
      // Scribble on the control block: any word after the registration header (the host took the
      // layout at registration and must not trust what the guest writes later).
      const words = (ctrlSize(PAGES) - 64) >> 2;
      const w = (this.ctrl + 64) / 4 + this.int(words);
      const old = Atomics.load(this.i32, w);
      Atomics.store(this.i32, w, this.rnd() < 0.5 ? (this.rnd() * 0x1_0000_0000) | 0 : old + this.pick([1, -1, 64, -64]));
      this.report.scribbles++;
      this.eraseCancelNotices(w);
      // Keep the guest's own tails truthful to what it wrote (a scribbled tail is a jump).
      for (let th = 0; th < this.o.threads; th++) {
        this.sqTail[th] = Atomics.load(this.i32, this.threadWord(th, TW_SQ_TAIL));
        const cancels = Atomics.load(this.i32, this.threadWord(th, TW_CANCEL_TAIL));
        if (cancels !== this.cancelTail[th]) {
          this.cancelTail[th] = cancels;
          this.noteCancelValue(th);
        }
      }
    } else {
      // Scribble on the memory a call is using (its buffers live in scratch).
      const at = this.scratch + this.int(this.end - this.scratch - 8);
      this.mem.setI32(at, (this.rnd() * 0x1_0000_0000) | 0);
    }
  }
}

function makeKernel(kind: FuzzKernel, thread: number, threads: number, log: (m: string) => void): Kernel<unknown> {
  const context = { thread, threadCount: threads, log };
  return (kind === 'os' ? new OsKernel({ kind: 'os', fileIo: 'threadpool' }, context) : new VirtualKernel({ kind: 'virtual' }, context)) as Kernel<unknown>;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * The session: fuzz steps with the host served every 8 (`serve`: a pass of each JavaScript thread,
 * or a ring of each native thread's doorbell), then the drain: cancel everything still in flight
 * and wait (`pause` between rounds) for every promised entry to be answered.
 */
async function drive(f: Fuzz, o: Required<FuzzOptions>, report: FuzzReport, serve: () => void, pause: () => Promise<void>): Promise<void> {
  let steps = 0;
  while (report.posted < o.entries && report.failures.length === 0) {
    if (steps > o.entries * 50) {
      report.failures.push(`seed ${o.seed}: no progress: ${report.posted} entries posted in ${steps} steps`);
      break;
    }
    f.step();
    if (++steps % 8 === 0) {
      serve();
      f.harvest();
    }
    if (steps % 64 === 0) await tick();
  }
  const deadline = Date.now() + o.drainMs;
  while ([...f.tracked.values()].some((tr) => tr.promised) && Date.now() < deadline) {
    for (const [index, tr] of f.tracked) if (f.status(index) !== ST_DONE && f.cancel(index)) tr.cancelled = true;
    serve();
    f.harvest();
    f.releaseHiddenCancels();
    f.releaseOwnStrands();
    await pause();
  }
  for (const [index, tr] of f.tracked) {
    if (tr.promised) report.failures.push(`seed ${o.seed}: entry ${index} (${f.describe(index, tr)}) never completed`);
  }
}

/** Runs one seeded fuzz session; resolves with its report (failures empty when the host held). */
export async function fuzzAbi(options: FuzzOptions): Promise<FuzzReport> {
  const o: Required<FuzzOptions> = { threads: 2, drainMs: 5000, ...options };
  const report: FuzzReport = {
    kernel: o.kernel, seed: o.seed, posted: 0, completed: 0, kept: 0, cancelled: 0, rewrites: 0, forced: 0, freeCancels: 0,
    tailJumps: 0, hazards: 0, scribbles: 0, logLines: 0, failures: [],
  };
  const f = new Fuzz(o, report);
  const v = validateControlBlock(f.mem, f.ctrl);
  if (isRefusal(v)) throw new Error(v.message);
  acceptControlBlock(f.mem, v, o.threads, 0, 1);
  const log = () => void report.logLines++;
  if (o.kernel === 'native') return fuzzNative(f, o, report);
  const shared = VmShared.create(o.threads);
  const spec: ProcessSpec = {
    pid: 1, name: `fuzz-${o.seed}`, memory: f.mem, grants: [], stdin: null, stdio: { write: () => {} },
    limits: { ...DEFAULT_LIMITS, maxFds: 256, maxPending: 1024 }, fdClasses: o.threads, shared: new SharedArrayBuffer(PROCESS_SHARED_BYTES),
  };
  // The virtual kernel lives on thread 0 (the others forward to it); the os kernel on every thread.
  const kernels: (Kernel<unknown> | null)[] = [];
  const threads: SyscallThread[] = [];
  for (let t = 0; t < o.threads; t++) {
    const k = o.kernel === 'os' || t === 0 ? makeKernel(o.kernel, t, o.threads, log) : null;
    kernels.push(k);
    const thread = new SyscallThread({ index: t, count: o.threads, kernel: k, shared, spinUs: 0, limits: spec.limits, autoRun: false, log });
    thread.attach(new ServedGuest(1, 1, spec.name, f.mem, v, o.threads, t, true, k ? k.attach(spec) : null));
    threads.push(thread);
  }
  const pass = (): void => {
    for (const th of threads) {
      try {
        th.pass();
      } catch (e) {
        report.failures.push(`seed ${o.seed}: a syscall thread threw: ${(e as Error).stack ?? e}`);
      }
    }
  };
  try {
    await drive(f, o, report, pass, tick);
  } finally {
    for (let t = 0; t < o.threads; t++) {
      const k = kernels[t];
      k?.close?.();
    }
  }
  return report;
}

/**
 * The same session against the native executor: its threads run on their own, so a pass only rings
 * every thread's doorbell (through the addon: a futex wake), as a guest that ignores needs_wakeup.
 */
async function fuzzNative(f: Fuzz, o: Required<FuzzOptions>, report: FuzzReport): Promise<FuzzReport> {
  const a = loadNativeAddon();
  if (typeof a === 'string') throw new Error(`the native kernel is unavailable: ${a}`);
  const sab = f.wasm.buffer as unknown as SharedArrayBuffer;
  const ex = a.createExecutor(o.threads, 50, 50, false);
  try {
    a.attach(ex, sab, {
      gid: 1, pid: 1, name: `fuzz-${o.seed}`, ctrl: f.ctrl, pagesPtr: f.pagesPtr, pageCount: PAGES, threads: o.threads,
      maxFds: 256, maxPending: 1024, listenAny: false, connectRules: [], grants: [], stdio: [-1, -1, -1],
    });
    const ring = (): void => {
      for (let t = 0; t < o.threads; t++) {
        const w = f.threadWord(t, TW_DOORBELL);
        Atomics.add(f.i32, w, 1);
        a.wake(sab, w * 4);
      }
    };
    await drive(f, o, report, ring, () => new Promise((r) => setTimeout(r, 1)));
  } finally {
    a.detach(ex, 1);
    a.destroyExecutor(ex);
  }
  return report;
}
