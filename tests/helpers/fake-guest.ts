// The guest half of the ABI written in TypeScript, to test the host half of the protocol (syscall
// threads, the entry state machine) precisely and without threads.
import {
  MAGIC, ABI_VERSION, ENTRY_SIZE, entryW, maskW, PAGE_SIZE, ENTRIES_PER_PAGE, threadLineW, ctrlSize, subMaskOffset, pagesSize, doneMaskOffset,
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_PAGE_LIMIT, CW_GUEST_WAITING, CW_COMPLETIONS, EW_STATUS,
  E_SYSNO, E_ARG0, E_RET, E_RET_HI, E_FLAGS, E_SEQ, E_THREAD, TW_SQ_TAIL, TW_CANCEL_TAIL,
  ST_SUBMITTED, ST_BUSY, ST_CANCEL, ST_FREE,
} from '../../host/abi/v1.js';
import { GuestMemory } from '../../host/memory/guest-memory.js';
import { validateControlBlock, isRefusal, acceptControlBlock, type ControlLayout } from '../../host/guest/control-block.js';

export class FakeGuest {
  readonly mem: GuestMemory;
  readonly i32: Int32Array;
  readonly ctrl = 4096;
  readonly pagesPtr: number;
  private readonly sqTail: number[] = [];
  private readonly cancelTail: number[] = [];
  private readonly used = new Set<number>();
  /** Where each page is: the first `pages` contiguous at pagesPtr, then those added (addPages). */
  readonly pageBase: number[] = [];

  constructor(
    readonly pages = 2,
    readonly threads = 1,
    /** The guest's memory: its own by default, or one a test harness lays out around [ctrl, end). */
    readonly memory = new WebAssembly.Memory({ initial: 8, maximum: 64, shared: true }),
    /** The most pages in all (page_limit): the masks are sized for it. */
    readonly pageLimit = pages,
  ) {
    this.mem = new GuestMemory(this.memory);
    this.i32 = new Int32Array(this.memory.buffer);
    this.pagesPtr = (this.ctrl + ctrlSize(pageLimit) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    for (let p = 0; p < pages; p++) this.pageBase.push(this.pagesPtr + p * PAGE_SIZE);
    for (let t = 0; t < threads; t++) {
      this.sqTail.push(0);
      this.cancelTail.push(0);
    }
    this.writeControlBlock();
  }

  writeControlBlock(): void {
    const m = this.mem;
    m.setU32(this.ctrl + C_MAGIC, MAGIC);
    m.setU32(this.ctrl + C_VERSION, ABI_VERSION);
    m.setU32(this.ctrl + C_CTRL_SIZE, ctrlSize(this.pageLimit));
    m.setU32(this.ctrl + C_PAGE_COUNT, this.pages);
    m.setU32(this.ctrl + C_PAGES_PTR, this.pagesPtr);
    m.setU32(this.ctrl + C_ENTRY_SIZE, ENTRY_SIZE);
    m.setU32(this.ctrl + C_PAGE_LIMIT, this.pageLimit === this.pages ? 0 : this.pageLimit);
  }

  /** Notes pages the host accepted through add_pages (the harness made that call). */
  pagesAdded(ptr: number, count: number): void {
    for (let i = 0; i < count; i++) this.pageBase.push(ptr + i * PAGE_SIZE);
  }

  /** Validates and accepts the control block as `register` would. */
  register(mode = 0, pid = 100): ControlLayout {
    const v = validateControlBlock(this.mem, this.ctrl);
    if (isRefusal(v)) throw new Error(v.message);
    acceptControlBlock(this.mem, v, this.threads, mode, pid);
    return v;
  }

  /** The first byte past the syscall pages (a harness allocates from here). */
  get end(): number {
    return this.pagesPtr + pagesSize(this.pages);
  }

  entry(index: number): number {
    const base = this.pageBase[index >> 6];
    return base === undefined ? entryW(this.pagesPtr, index) * 4 : base + (index & 63) * ENTRY_SIZE;
  }

  /** The word index of the entry's status word. */
  private statusW(index: number): number {
    return (this.entry(index) >>> 2) + EW_STATUS; // entry() knows the pages added at run time
  }

  private get ctrlW(): number {
    return this.ctrl >>> 2;
  }

  /** A free entry index in a page owned by thread `t`. */
  freeEntry(t: number): number {
    for (let p = t; p < this.pageBase.length; p += this.threads) {
      for (let e = 0; e < ENTRIES_PER_PAGE; e++) {
        const index = p * ENTRIES_PER_PAGE + e;
        if (!this.used.has(index)) return index;
      }
    }
    throw new Error(`no free entry for thread ${t}`);
  }

  /**
   * Writes an entry and publishes it exactly as libflexsc does (`publish` false: the tail is
   * moved but not yet written, for tests that order what the host sees). Returns its index.
   */
  post(t: number, sysno: number, args: number[] = [], flags = 0, index = this.freeEntry(t), publish = true): number {
    this.used.add(index);
    const e = this.entry(index);
    const m = this.mem;
    m.setI32(e + E_SYSNO, sysno);
    for (let i = 0; i < 6; i++) m.setI32(e + E_ARG0 + i * 4, args[i] ?? 0);
    m.setI32(e + E_FLAGS, flags);
    m.setI32(e + E_SEQ, this.sqTail[t]!);
    m.setI32(e + E_THREAD, t);
    Atomics.store(this.i32, this.statusW(index), ST_SUBMITTED);
    this.bumpSub(index);
    this.sqTail[t]!++;
    if (publish) this.publishTail(t);
    return index;
  }

  /** Writes thread t's sq tail as the guest holds it. */
  publishTail(t: number): void {
    Atomics.store(this.i32, threadLineW(this.ctrl, t) + TW_SQ_TAIL, this.sqTail[t]!);
  }

  /** Moves thread t's tail to `seq` without publishing it: a hostile guest's jump (the protocol broken on purpose). */
  jumpTail(t: number, seq: number): void {
    this.sqTail[t] = seq | 0;
  }

  /** Sets the entry's bit in its page's submission mask. */
  private bumpSub(index: number): void {
    const page = Math.floor(index / ENTRIES_PER_PAGE);
    const word = maskW(this.ctrl + subMaskOffset(this.pageLimit), page) + ((index & 32) ? 1 : 0);
    Atomics.or(this.i32, word, 1 << (index & 31));
  }

  /** libflexsc's cancel: SUBMITTED or BUSY -> CANCEL. Returns whether the entry was marked. */
  cancel(index: number): boolean {
    const w = this.statusW(index);
    let ok = Atomics.compareExchange(this.i32, w, ST_SUBMITTED, ST_CANCEL) === ST_SUBMITTED;
    if (!ok) ok = Atomics.compareExchange(this.i32, w, ST_BUSY, ST_CANCEL) === ST_BUSY;
    if (!ok) return false;
    const t = this.mem.i32At(this.entry(index) + E_THREAD);
    this.bumpSub(index);
    this.cancelTail[t]!++;
    Atomics.store(this.i32, threadLineW(this.ctrl, t) + TW_CANCEL_TAIL, this.cancelTail[t]!);
    return true;
  }

  status(index: number): number {
    return Atomics.load(this.i32, this.statusW(index));
  }

  result(index: number): number {
    return this.mem.i32At(this.entry(index) + E_RET_HI) * 0x1_0000_0000 + this.mem.u32(this.entry(index) + E_RET);
  }

  free(index: number): void {
    Atomics.store(this.i32, this.statusW(index), ST_FREE);
    this.used.delete(index);
  }

  /** Whether the host set the entry's bit in its page's done mask. */
  doneBit(index: number): boolean {
    const page = Math.floor(index / ENTRIES_PER_PAGE);
    const word = maskW(this.ctrl + doneMaskOffset(this.pageLimit), page) + ((index & 32) ? 1 : 0);
    return (Atomics.load(this.i32, word) & (1 << (index & 31))) !== 0;
  }
  completions(): number {
    return Atomics.load(this.i32, this.ctrlW + CW_COMPLETIONS);
  }
  setWaiting(on: boolean): void {
    Atomics.store(this.i32, this.ctrlW + CW_GUEST_WAITING, on ? 1 : 0);
  }
}
