import {
  ST_SUBMITTED, ST_BUSY, EAGAIN, EF_NOWAIT, EW_STATUS, EW_SYSNO, EW_ARG0, EW_ARG1, EW_ARG2, EW_ARG3, EW_ARG4,
  EW_ARG5, EW_RET, EW_RET_HI, EW_FLAGS, ENTRY_SIZE, ENTRIES_PER_PAGE,
} from '../abi/v1.js';
import type { CallRunner } from '../syscall/call-runner.js';
import type { EntryCall } from '../syscall/entry-call.js';
import type { ServedGuest } from '../syscall/served-guest.js';

const TWO_32 = 0x1_0000_0000;

/**
 * The calls of a colocated guest (epoll mode: the guest runs on the thread of its kernel): its
 * imports run the kernel directly, as a function call, with no page to scan and no hand-off.
 */
export class ColocatedCalls {
  constructor(
    private readonly thread: number,
    private readonly runner: CallRunner,
    /** Starts the thread's loop, which completions from the event loop need. */
    private readonly wake: () => void,
  ) {}

  /**
   * `syscall` import: executes the entry now. A call that would have to wait cannot block the
   * thread, so it is interrupted and fails with -EAGAIN.
   */
  execute(g: ServedGuest, entryPtr: number): void {
    const index = this.claim(g, entryPtr);
    if (index === null) return;
    const call = this.callOf(g, index);
    call.flags |= EF_NOWAIT; // nothing may wait on this thread: would-block answers -EAGAIN
    this.runNow(g, call);
  }

  /** `yield` import: starts the entry; 0 if it already completed, else 1 and `resume` runs once it does. */
  start(g: ServedGuest, entryPtr: number, resume: () => void): number {
    const index = this.claim(g, entryPtr);
    if (index === null) return 0;
    const call = this.callOf(g, index);
    this.runner.run(g, call);
    if (call.done) return 0;
    call.onDone = resume;
    this.wake(); // this thread's loop must run for anything to complete it
    return 1;
  }

  /** An import shim's call, through the guest's shim entry. */
  shim(g: ServedGuest, nr: number, a0: number, a1: number, a2: number, a3: number): number {
    const i32 = g.i32;
    const w = g.shimW;
    Atomics.store(i32, w + EW_STATUS, ST_BUSY);
    this.runNow(g, this.runner.newCall(g, -1, this.thread, nr, a0, a1, a2, a3, 0, 0, EF_NOWAIT));
    const result = (i32[w + EW_RET_HI]! * TWO_32) + (i32[w + EW_RET]! >>> 0);
    Atomics.store(i32, w + EW_STATUS, 0);
    return result;
  }

  private runNow(g: ServedGuest, call: EntryCall): void {
    this.runner.run(g, call);
    if (!call.done) {
      call.onCancel?.();
      call.complete(-EAGAIN);
    }
  }

  /** SUBMITTED -> BUSY for the entry at `entryPtr`; its index, or null for anything else. */
  private claim(g: ServedGuest, entryPtr: number): number | null {
    const off = (entryPtr >>> 0) - g.layout.pagesPtr;
    // Only the first pages (contiguous at pagesPtr): an entry handed to the import is named by address.
    if (off < 0 || off % ENTRY_SIZE !== 0 || off / ENTRY_SIZE >= g.layout.pageCount * ENTRIES_PER_PAGE) return null;
    const index = off / ENTRY_SIZE;
    const w = g.entryW(index);
    if (Atomics.compareExchange(g.i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY) !== ST_SUBMITTED) return null;
    return index;
  }

  private callOf(g: ServedGuest, index: number): EntryCall {
    const i32 = g.i32;
    const w = g.entryW(index);
    return this.runner.newCall(
      g, index, this.thread, i32[w + EW_SYSNO]!,
      i32[w + EW_ARG0]!, i32[w + EW_ARG1]!, i32[w + EW_ARG2]!, i32[w + EW_ARG3]!, i32[w + EW_ARG4]!, i32[w + EW_ARG5]!,
      i32[w + EW_FLAGS]!,
    );
  }
}
