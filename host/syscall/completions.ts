import {
  ENTRIES_PER_PAGE, maskW, ST_BUSY, ST_DONE, ST_CANCEL, ECANCELED, EIO, EW_STATUS, EW_RET, EW_RET_HI, HW_COMPLETED, HW_NOTIFIES, HW_CANCEL_WON, HW_CANCEL_LOST,
} from '../abi/v1.js';
import { PENDING } from '../kernel/kernel.js';
import type { CallSink, EntryCall } from './entry-call.js';
import { GC_PENDING, SYSNO_LIMIT, type ServedGuest } from './served-guest.js';
import { traceLine } from './trace.js';

const TWO_32 = 0x1_0000_0000;

/**
 * Writing results back (paper section 3.2): a finished call's result goes into its entry, which
 * becomes DONE; its bit is gathered per page and announced in done_mask with the completions word
 * (and a notify only if the guest waits) once per pass or per event-loop turn, not once per call.
 */
export class Completions implements CallSink {
  /** A scan pass is running: it flushes on its way out. */
  inPass = false;
  private readonly toFlush: ServedGuest[] = [];
  /** A flush of completions that arrived outside a pass is scheduled for this event-loop turn. */
  private flushScheduled = false;
  /** Colocated guests' continuations, run once their call completed. */
  private readonly resumes: (() => void)[] = [];

  constructor(private readonly trace?: (line: string) => void) {}

  /** Writes a result into its entry and marks it DONE (CallSink). */
  finish(call: EntryCall, result: number): void {
    const g = call.guest;
    if (!g.attached) return;
    if (g.inflight.delete(call.index) && g.countsShared) Atomics.sub(g.counters, GC_PENDING, 1);
    if (typeof result !== 'number' || !Number.isFinite(result) || result === PENDING) result = -EIO;
    const i32 = g.i32;
    const w = g.entryW(call.index);
    i32[w + EW_RET] = result; // low 32 bits (ToInt32 is modulo 2^32)
    i32[w + EW_RET_HI] = Math.floor(result / TWO_32);
    const prev = Atomics.compareExchange(i32, w + EW_STATUS, ST_BUSY, ST_DONE);
    if (prev !== ST_BUSY) {
      Atomics.store(i32, w + EW_STATUS, ST_DONE);
      if (prev === ST_CANCEL) call.cancelRequested = true;
    }
    if (g.scanned) g.noteDone(call.index);
    if (call.cancelRequested) i32[g.hostW + (result === -ECANCELED ? HW_CANCEL_WON : HW_CANCEL_LOST)]!++;
    if (call.sysno >>> 0 < SYSNO_LIMIT) g.completedBySysno[call.sysno]!++;
    if (this.trace) this.trace(traceLine(g, call, result));
    i32[g.hostW + HW_COMPLETED]!++;
    if (!g.scanned) {
      // A colocated guest reads its entry right away: nothing to announce. Until its resume runs it
      // has work to do: not suspended for virtual-time idleness.
      if (call.onDone) {
        g.colocatedSuspended = false;
        this.resumes.push(call.onDone);
        // Completed from the event loop (os kernel I/O) while this thread may sleep: resume soon.
        if (!this.inPass) setImmediate(() => this.runResumes());
      }
      return;
    }
    if (call.index >= 0) {
      const page = (call.index / ENTRIES_PER_PAGE) | 0;
      const inPage = call.index - page * ENTRIES_PER_PAGE;
      const bit = 1 << (inPage & 31);
      if ((g.doneLo[page]! | g.doneHi[page]!) === 0) g.dirtyPages.push(page);
      if (inPage < 32) g.doneLo[page]! |= bit;
      else g.doneHi[page]! |= bit;
    }
    g.pendingDone++;
    if (call.onDone) this.resumes.push(call.onDone);
    if (g.pendingDone === 1) this.toFlush.push(g);
    // Outside a pass (a completion from the event loop: real I/O), announce at the end of this
    // event-loop turn, together with every other completion of the turn.
    if (!this.inPass && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushTurn);
    }
  }

  /** Announces what the pass that just ended completed. */
  flushPass(): void {
    if (this.toFlush.length) {
      for (const g of this.toFlush) this.flush(g);
      this.toFlush.length = 0;
    }
  }

  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    if (this.inPass) return; // the pass in progress flushes on its way out
    for (const g of this.toFlush) this.flush(g);
    this.toFlush.length = 0;
    this.runResumes();
  };

  /** Announces completions: done masks, the completions word, and a notify if the guest waits. */
  private flush(g: ServedGuest): void {
    if (g.pendingDone === 0) return;
    const i32 = g.i32;
    const pages = g.dirtyPages;
    if (pages.length) {
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i]!;
        const lo = g.doneLo[p]!;
        const hi = g.doneHi[p]!;
        const w = maskW(g.layout.doneMask, p);
        if (lo !== 0) Atomics.or(i32, w, lo);
        if (hi !== 0) Atomics.or(i32, w + 1, hi);
        g.doneLo[p] = 0;
        g.doneHi[p] = 0;
      }
      pages.length = 0;
    }
    g.pendingDone = 0;
    Atomics.add(i32, g.completionsW, 1);
    if (Atomics.load(i32, g.waitingW) !== 0) {
      Atomics.notify(i32, g.completionsW);
      i32[g.hostW + HW_NOTIFIES]!++;
    }
  }

  /** Runs the continuations of colocated guests whose calls completed. */
  runResumes(): void {
    while (this.resumes.length) this.resumes.shift()!();
  }
}
