import {
  ST_SUBMITTED, ST_BUSY, ST_CANCEL, ECANCELED, EW_STATUS, EW_SYSNO, EW_SEQ, EW_THREAD, TW_SQ_TAIL, TW_CANCEL_TAIL, HW_CLAIMED, HW_BATCHES, HW_SCANS, HW_NEXT_SEQ, ENTRIES_PER_PAGE, maskW,
} from '../abi/v1.js';
import { EntryCall, type CallSink } from './entry-call.js';
import { SYSNO_LIMIT, type ServedGuest } from './served-guest.js';

/** Host-private bookkeeping in an entry's `host` word. */
/** ServedGuest.claimFlags: the posting was claimed; a cancel of it was passed on. */
const CLAIMED = 1;
const CANCEL_SEEN = 2;

/** Where claimed entries go: this thread's kernel, or the home thread (forwarding placement). */
export interface ClaimTarget {
  /** An entry this thread claimed (index -1: the shim entry), to run in claim order. */
  claimed(g: ServedGuest, index: number): void;
  /** The guest cancels an entry this thread claimed earlier. */
  cancel(g: ServedGuest, index: number): void;
  /** Everything claimed so far has reached its executor (nothing waits to be forwarded). */
  readonly caughtUp: boolean;
}

/**
 * Scanning and claiming (paper section 3.2.1): finds what a guest published on this thread's line,
 * through the submission masks of the pages this thread owns, and claims it in seq order
 * (SUBMITTED -> BUSY). Also answers cancellations of entries not yet claimed, and takes the shim entry.
 */
export class Scanner {
  /** Reusable: entry indices of one scan, by seq offset. */
  private bySeq = new Int32Array(256).fill(-1);

  constructor(
    private readonly thread: number,
    private readonly target: ClaimTarget,
    private readonly sink: CallSink,
    private readonly log: (message: string) => void,
  ) {}

  /** Looks at one guest; returns the entries claimed. */
  scanGuest(g: ServedGuest): number {
    const i32 = g.i32;
    // The shim word first: whatever the guest published before posting the shim entry is then
    // visible in sq_tail below, so entries run before the shim call that followed them.
    const shim = Atomics.load(i32, g.shimSeqW);
    const tail = Atomics.load(i32, g.lineW + TW_SQ_TAIL);
    const cancels = Atomics.load(i32, g.lineW + TW_CANCEL_TAIL);
    let work = 0;
    if (tail !== g.nextSeq || cancels !== g.seenCancel) {
      g.seenCancel = cancels;
      // Pages the guest added are counted before any tail that covers their entries is published.
      g.syncPages();
      i32[g.hostW + HW_SCANS]!++;
      work += this.scanPages(g, tail);
    }
    if (shim !== g.seenShim) {
      g.seenShim = shim;
      work += this.scanShim(g);
    }
    return work;
  }

  /**
   * Finds the entries published since the last pass (seq in [nextSeq, tail)) through the pages'
   * submission masks, and claims them in seq order: the guest's per-thread submission order, which
   * keeps calls on one descriptor in order. Also answers cancellations. Only entries whose bit is set
   * are looked at, so idle entries (a server's thousands of pending reads) cost nothing per pass.
   */
  private scanPages(g: ServedGuest, tail: number): number {
    const i32 = g.i32; // after syncPages: covers every page
    let span = (tail - g.nextSeq) >>> 0;
    if (span > g.entryCount) {
      // More published than there are entries: the guest broke the protocol. Resynchronise.
      g.diagnose(`${g.name}: sq_tail jumped by ${span}; resynchronising`, this.log);
      // At its tail, before the masks are read: an entry behind it is stranded (the guest's doing),
      // but a cancel of it is still answered (a carried entry is judged against the new tail).
      g.nextSeq = tail;
      span = 0;
    }
    if (this.bySeq.length < span) this.bySeq = new Int32Array(Math.max(span, this.bySeq.length * 2)).fill(-1);
    const bySeq = this.bySeq;
    let found = 0;
    const owned = g.owned;
    for (let k = 0; k < owned.length; k++) {
      const p = owned[k]!;
      const w = maskW(g.layout.subMask, p);
      let lo = g.carryLo[k]!;
      let hi = g.carryHi[k]!;
      if (Atomics.load(i32, w) !== 0) lo |= Atomics.exchange(i32, w, 0);
      if (Atomics.load(i32, w + 1) !== 0) hi |= Atomics.exchange(i32, w + 1, 0);
      if ((lo | hi) === 0) continue;
      let keepLo = 0;
      let keepHi = 0;
      for (let half = 0; half < 2; half++) {
        let m = half === 0 ? lo : hi;
        while (m !== 0) {
          const bit = m & -m;
          m ^= bit;
          const index = p * ENTRIES_PER_PAGE + half * 32 + (31 - Math.clz32(bit));
          const ew = g.entryW(index);
          const status = Atomics.load(i32, ew);
          let keep = false;
          if (status === ST_SUBMITTED) {
            const rel = (i32[ew + EW_SEQ]! - g.nextSeq) >>> 0;
            if (rel < span) {
              if (bySeq[rel] === -1) found++;
              bySeq[rel] = index;
            } else keep = rel < 0x8000_0000; // posted after the tail we read: look again
          } else if (status === ST_CANCEL) {
            keep = this.cancelEntry(g, index, ew, span);
          }
          if (keep) {
            if (half === 0) keepLo |= bit;
            else keepHi |= bit;
          }
        }
      }
      g.carryLo[k] = keepLo;
      g.carryHi[k] = keepHi;
    }
    const first = g.nextSeq;
    g.nextSeq = tail;
    if (found === 0) {
      this.publishNextSeq(g);
      return 0;
    }
    let claimed = 0;
    for (let rel = 0; rel < span && found > 0; rel++) {
      const index = bySeq[rel]!;
      if (index === -1) continue;
      bySeq[rel] = -1;
      found--;
      const w = g.entryW(index);
      const prev = Atomics.compareExchange(i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY);
      if (prev === ST_SUBMITTED) {
        g.claimSeq[index] = (first + rel) | 0;
        g.claimFlags[index] = CLAIMED;
        claimed++;
        this.target.claimed(g, index);
      } else if (prev === ST_CANCEL) {
        this.cancelledBeforeClaim(g, index);
      }
    }
    if (claimed) {
      i32[g.hostW + HW_CLAIMED] = i32[g.hostW + HW_CLAIMED]! + claimed;
      i32[g.hostW + HW_BATCHES]!++;
    }
    this.publishNextSeq(g);
    return claimed;
  }

  /**
   * Says how far this thread has taken the guest's entries (virtual-time idleness compares it with
   * sq_tail). Only once what it took is executing or sits in the forward ring: a home thread that
   * saw the new value with the ring still empty would think every posted call is parked and move
   * virtual time.
   */
  publishNextSeq(g: ServedGuest): void {
    if (this.target.caughtUp) Atomics.store(g.i32, g.hostW + HW_NEXT_SEQ, g.nextSeq);
  }

  /** A CANCEL entry seen in a scan. Returns true when it must be looked at again (not yet published). */
  private cancelEntry(g: ServedGuest, index: number, w: number, span: number): boolean {
    const i32 = g.i32;
    const flags = g.claimFlags[index]!;
    if ((flags & CLAIMED) === 0 || g.claimSeq[index] !== i32[w + EW_SEQ]) {
      // Never claimed. Published? Then it is answered without running; else look again later.
      const rel = (i32[w + EW_SEQ]! - g.nextSeq) >>> 0;
      if (rel < span || rel >= 0x8000_0000) {
        this.cancelledBeforeClaim(g, index);
        return false;
      }
      return true;
    }
    if (flags & CANCEL_SEEN) return false;
    g.claimFlags[index] = flags | CANCEL_SEEN;
    this.target.cancel(g, index);
    return false;
  }

  private cancelledBeforeClaim(g: ServedGuest, index: number): void {
    const w = g.entryW(index);
    const sysno = g.i32[w + EW_SYSNO]!;
    const call = new EntryCall(this.sink, g, index, this.thread, sysno, 0, 0, 0, 0, 0, 0, 0);
    // The guest posted it: it counts as submitted, so that completed never exceeds submitted.
    if (sysno >>> 0 < SYSNO_LIMIT) g.submittedBySysno[sysno]!++;
    call.cancelRequested = true;
    call.complete(-ECANCELED);
  }

  /** The shim entry (host import shims on the guest thread) when it names this thread. */
  private scanShim(g: ServedGuest): number {
    const w = g.shimW;
    if (g.i32[w + EW_THREAD] !== this.thread) return 0;
    if (Atomics.compareExchange(g.i32, w + EW_STATUS, ST_SUBMITTED, ST_BUSY) !== ST_SUBMITTED) return 0;
    this.target.claimed(g, -1);
    return 1;
  }
}
