import { RateLimiter } from './rate-limit.js';
import {
  CW_COMPLETIONS, CW_GUEST_WAITING, CW_SHUTDOWN, CW_SHIM_ENTRY, CW_SHIM_SEQ, ENTRIES_PER_PAGE, PAGE_SIZE, ST_DONE,
  threadLineW, hostLineW, maskW, entryW,
} from '../abi/v1.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { PT_BASE, PT_COUNT, type ControlLayout } from '../guest/control-block.js';
import type { EntryCall } from './entry-call.js';
import { BellWaiter } from './bell-waiter.js';

/** Per-syscall-number counters are kept for numbers below this (Linux x86-64 stays under it). */
export const SYSNO_LIMIT = 512;

/**
 * The runtime's words for one guest, shared by every syscall thread that serves it and invisible to
 * the guest (which could otherwise reset them). Word 0: calls accepted and not yet completed, all
 * threads together (the maxPending limit is per guest, not per thread).
 */
export const GUEST_COUNTERS_BYTES = 64;
export const GC_PENDING = 0;
/** Diagnostics the guest triggered (all threads), and those held back by the rate limit. */
export const GC_DIAGNOSTICS = 1;
export const GC_DIAGNOSTICS_SUPPRESSED = 2;
/** Bytes of standard output (word 3) and error (word 4) posted to the main thread and not yet taken by the sink. */
export const GC_STDOUT_QUEUED = 3;
export const GC_STDERR_QUEUED = 4;

/**
 * What one syscall thread knows about one registered guest: word offsets into its shared memory,
 * the pages this thread owns, scan positions, the calls it is executing, and its counters.
 */
export class ServedGuest {
  /**
   * View of the guest's memory, made at registration (the control block and pages never move) and
   * made again when pages added at run time lie past its end (the memory grew since).
   */
  i32: Int32Array;
  readonly ctrlW: number;
  /** Word offsets of sub_mask[] and done_mask[] (two words per page: see maskW). */
  readonly subW: number;
  readonly doneW: number;
  readonly completionsW: number;
  readonly waitingW: number;
  readonly shutdownW: number;
  readonly shimW: number;
  readonly shimSeqW: number;
  /** This thread's line in the guest's control block (sq_tail, cancel_tail, doorbell, needs_wakeup). */
  readonly lineW: number;
  /** This thread's statistics line. */
  readonly hostW: number;
  /** The layout's page table (word 0: pages registered; 1 + p: page p's address), shared by every thread. */
  readonly pageTable: Int32Array;
  /** Pages this thread has taken from the page table so far (see syncPages). */
  pageCount: number;
  /** Pages owned by this thread (p % threads === index). */
  readonly owned: number[] = [];
  /**
   * Per owned page, entries taken from sub_mask that must be looked at again: submitted but not yet
   * published (seq >= tail), or cancelled before being published.
   */
  readonly carryLo: number[] = [];
  readonly carryHi: number[] = [];
  /**
   * Per entry of the owned pages, the posting this thread claimed there (its seq) and whether it
   * has passed on a cancel of it (CLAIM_*). Kept here, not in the entry's host word, which the
   * guest can overwrite: a cancel of a posting never claimed is answered whatever the entry holds.
   */
  claimSeq = new Int32Array(0);
  claimFlags = new Uint8Array(0);
  /** Next seq to take from this thread's line. */
  nextSeq = 0;
  seenCancel = 0;
  seenShim = 0;
  /** Calls this thread is executing for the guest, by entry index (-1: the shim entry). */
  readonly inflight = new Map<number, EntryCall>();
  /** GUEST_COUNTERS_BYTES shared with the guest's other syscall threads. */
  readonly counters: Int32Array;
  /** Other threads execute this guest's calls too: its calls in flight are counted in `counters`. */
  countsShared = false;
  /** Pages with completions not yet announced in done_mask, and their bits. */
  readonly dirtyPages: number[] = [];
  readonly doneLo: Int32Array;
  readonly doneHi: Int32Array;
  /** Completions written since the last flush. */
  pendingDone = 0;
  readonly submittedBySysno = new Uint32Array(SYSNO_LIMIT);
  readonly completedBySysno = new Uint32Array(SYSNO_LIMIT);
  attached = true;
  /** Rate limit of the diagnostics this guest triggers on this thread. */
  readonly diagnostics = new RateLimiter();

  /** A diagnostic the guest caused: counted in its statistics, printed within its rate limit. */
  diagnose(message: string, log: (line: string) => void): void {
    Atomics.add(this.counters, GC_DIAGNOSTICS, 1);
    const line = this.diagnostics.admit(message);
    if (line === null) Atomics.add(this.counters, GC_DIAGNOSTICS_SUPPRESSED, 1);
    else log(line);
  }
  /** This thread's pending wait on the guest's doorbell for it. */
  readonly bellWaiter = new BellWaiter();
  /** A guest running on this thread (epoll mode) that returned to the event loop to wait. */
  colocatedSuspended = false;
  /**
   * Entries this thread completed that may still be DONE, i.e. not yet taken by the guest (-1: the
   * shim entry), each listed once (`listedDone` by index + 1). A guest that announced a wait while
   * holding one has work to do: see `holdsCompletions`.
   */
  private readonly doneList: number[] = [];
  private listedDone: Uint8Array;

  constructor(
    readonly gid: number,
    readonly pid: number,
    readonly name: string,
    readonly memory: GuestMemory,
    readonly layout: ControlLayout,
    /** Syscall threads serving this guest. */
    readonly threads: number,
    /** Index of the thread this record lives on. */
    readonly thread: number,
    /** Whether this thread scans the guest's pages (false for guests running on this very thread). */
    readonly scanned: boolean,
    /** The kernel's process object, when this thread executes calls for the guest. */
    public proc: unknown,
    counters: SharedArrayBuffer = new SharedArrayBuffer(GUEST_COUNTERS_BYTES),
  ) {
    this.counters = new Int32Array(counters);
    this.i32 = new Int32Array(memory.memory.buffer);
    this.ctrlW = layout.ctrl >> 2;
    this.subW = maskW(layout.subMask, 0);
    this.doneW = maskW(layout.doneMask, 0);
    this.completionsW = this.ctrlW + CW_COMPLETIONS;
    this.waitingW = this.ctrlW + CW_GUEST_WAITING;
    this.shutdownW = this.ctrlW + CW_SHUTDOWN;
    this.shimW = this.ctrlW + CW_SHIM_ENTRY;
    this.shimSeqW = this.ctrlW + CW_SHIM_SEQ;
    this.lineW = threadLineW(layout.ctrl, thread);
    this.hostW = hostLineW(layout.ctrl, thread);
    this.pageTable = new Int32Array(layout.pageTable);
    this.pageCount = 0;
    this.doneLo = new Int32Array(layout.pageMax);
    this.doneHi = new Int32Array(layout.pageMax);
    this.listedDone = new Uint8Array(1);
    this.syncPages();
  }

  /**
   * Takes the pages registered since the last look (flexvm.add_pages, on the guest's thread): the
   * ones this thread owns join its scan, and the view is made again if they lie past its end. The
   * registrar writes a page's address before it counts it, so every page counted here is complete.
   * Called before a scan and before running a forwarded entry: one atomic load when nothing changed.
   */
  syncPages(): void {
    const n = Atomics.load(this.pageTable, PT_COUNT);
    if (n === this.pageCount) return;
    let end = 0;
    for (let p = this.pageCount; p < n; p++) {
      end = Math.max(end, (this.pageTable[PT_BASE + p]! >>> 0) + PAGE_SIZE);
      if (this.scanned && p % this.threads === this.thread) {
        this.owned.push(p);
        this.carryLo.push(0);
        this.carryHi.push(0);
      }
    }
    if (end > this.i32.byteLength) {
      // The registrar checked the pages against the memory's size: only this view is behind.
      void this.memory.size;
      this.i32 = this.memory.i32;
    }
    const seqs = new Int32Array(n * ENTRIES_PER_PAGE);
    seqs.set(this.claimSeq);
    this.claimSeq = seqs;
    const flags = new Uint8Array(n * ENTRIES_PER_PAGE);
    flags.set(this.claimFlags);
    this.claimFlags = flags;
    const listed = new Uint8Array(n * ENTRIES_PER_PAGE + 1);
    listed.set(this.listedDone.subarray(0, Math.min(this.listedDone.length, listed.length)));
    this.listedDone = listed;
    this.pageCount = n;
  }

  /** Notes that entry `index` (-1: the shim entry) was made DONE. */
  noteDone(index: number): void {
    if (this.listedDone[index + 1] === 0) {
      this.listedDone[index + 1] = 1;
      this.doneList.push(index);
    }
  }

  /**
   * Whether an entry this thread completed is still DONE: the guest has not taken its result yet
   * (it is about to, even if its guest_waiting flag is still up). Forgets entries it took.
   */
  holdsCompletions(): boolean {
    const list = this.doneList;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const index = list[i]!;
      if (Atomics.load(this.i32, this.entryW(index)) === ST_DONE) list[kept++] = index;
      else this.listedDone[index + 1] = 0;
    }
    list.length = kept;
    return kept > 0;
  }

  /** Word offset of entry `index` (-1: the shim entry). */
  entryW(index: number): number {
    // The page table holds each page's base (pages registered at run time need not be contiguous).
    return index < 0 ? this.shimW : entryW(this.pageTable[PT_BASE + ((index / ENTRIES_PER_PAGE) | 0)]!, index % ENTRIES_PER_PAGE);
  }

  /** Entries in the pages this thread knows of. */
  get entryCount(): number {
    return this.pageCount * ENTRIES_PER_PAGE;
  }

  /** Per-syscall counts, as plain objects for messages: { sysno: [submitted, completed] }. */
  countsBySysno(): Record<number, [number, number]> {
    const out: Record<number, [number, number]> = {};
    for (let nr = 0; nr < SYSNO_LIMIT; nr++) {
      const s = this.submittedBySysno[nr]!;
      const c = this.completedBySysno[nr]!;
      if (s || c) out[nr] = [s, c];
    }
    return out;
  }
}
