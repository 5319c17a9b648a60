#include "runner.h"

#include <cerrno>

#include "executor.h"
#include "profile.h"

namespace flexvm {

int Runner::serveLine(const GuestRef& gr, int line) {
  Guest& g = *gr;
  LineState& l = *g.lines[size_t(line)];
  // Cheap look first: nothing new on the line, no need to contend for its lock.
  uint32_t tail = uint32_t(aload(g.threadLine(line, FLEXVM_T_SQ_TAIL)));
  int32_t cancels = aload(g.threadLine(line, FLEXVM_T_CANCEL_TAIL));
  if (tail == l.scannedTail.load(std::memory_order_acquire) && cancels == l.scannedCancel.load(std::memory_order_acquire))
    return 0;
  int32_t free = 0;
  if (!l.lock.compare_exchange_strong(free, 1, std::memory_order_acquire)) return -1;
  // Under the lock: read again (a holder that just left may have served what we saw).
  tail = uint32_t(aload(g.threadLine(line, FLEXVM_T_SQ_TAIL)));
  cancels = aload(g.threadLine(line, FLEXVM_T_CANCEL_TAIL));
  int claimed = 0;
  if (tail != l.nextSeq || cancels != l.seenCancel) {
    l.seenCancel = cancels;
    // Pages the guest added (flexvm.add_pages) are counted before any tail covering their entries.
    g.takePages(l, line);
    g.bumpHost(statsLine(line), FLEXVM_H_SCANS);
    curLine_ = line;
    claimed = scanPages(gr, l, line, tail);
  }
  l.scannedCancel.store(cancels, std::memory_order_release);
  l.scannedTail.store(l.nextSeq, std::memory_order_release);
  l.lock.store(0, std::memory_order_release);
  return claimed;
}

// Runs the entries published since the last pass (seq in [nextSeq, tail)) in seq order, found
// through the pages' submission masks; answers cancellations. Idle entries cost nothing.
int Runner::scanPages(const GuestRef& gr, LineState& l, int line, uint32_t tail) {
  Guest& g = *gr;
  uint64_t scanStart = PROF_NOW();
  uint32_t span = tail - l.nextSeq;
  if (span > g.entries()) {
    // The guest broke the protocol: resynchronise at its tail, before the masks are read, so that
    // an entry stranded behind it (the guest's doing) is still answered when the guest cancels it.
    l.nextSeq = tail;
    span = 0;
  }
  int found = 0;
  for (size_t k = 0; k < l.owned.size(); k++) {
    uint32_t p = l.owned[k];
    int32_t* w = g.subMask(p);
    uint32_t lo = l.carryLo[k], hi = l.carryHi[k];
    if (aload(w) != 0) lo |= uint32_t(axchg(w, 0));
    if (aload(w + 1) != 0) hi |= uint32_t(axchg(w + 1, 0));
    if ((lo | hi) == 0) continue;
    // Ask for every posted entry's line for writing at once (the claim CAS below needs it
    // exclusive): the guest's core holds them, and one transfer at a time costs a round trip each.
    int pageFirst = int(p) * FLEXVM_ENTRIES_PER_PAGE;
    for (uint32_t m = lo; m; m &= m - 1) prefetchForWrite(g.entry(pageFirst + __builtin_ctz(m)));
    for (uint32_t m = hi; m; m &= m - 1) prefetchForWrite(g.entry(pageFirst + 32 + __builtin_ctz(m)));
    uint32_t keepLo = 0, keepHi = 0;
    for (int half = 0; half < 2; half++) {
      uint32_t m = half == 0 ? lo : hi;
      while (m) {
        int bit = __builtin_ctz(m);
        m &= m - 1;
        int index = int(p) * FLEXVM_ENTRIES_PER_PAGE + half * 32 + bit;
        int32_t* e = g.entry(index);
        int32_t status = aload(e);
        bool keep = false;
        if (status == FLEXVM_ST_SUBMITTED) {
          uint32_t rel = uint32_t(e[12]) - l.nextSeq;
          if (rel < span) {
            if (l.bySeq[rel] == -1) found++;
            l.bySeq[rel] = index;
          } else {
            keep = rel < 0x80000000u;  // posted after the tail we read: look again
          }
        } else if (status == FLEXVM_ST_CANCEL) {
          keep = cancelEntry(gr, l, line, index, e, span);
        }
        if (keep) (half == 0 ? keepLo : keepHi) |= 1u << bit;
      }
    }
    l.carryLo[k] = keepLo;
    l.carryHi[k] = keepHi;
  }
  uint32_t first = l.nextSeq;
  l.nextSeq = tail;
  int claimed = 0;
  uint64_t runStart = PROF_NOW();
  PROF_ADD(scanCycles, runStart - scanStart);
  for (uint32_t rel = 0; rel < span && found > 0; rel++) {
    int index = l.bySeq[rel];
    if (index == -1) continue;
    l.bySeq[rel] = -1;
    found--;
    int32_t* e = g.entry(index);
    uint64_t casStart = PROF_NOW();
    int32_t prev = acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY);
    PROF_ADD(casCycles, PROF_NOW() - casStart);
    if (prev == FLEXVM_ST_SUBMITTED) {
      EntryClaim& cl = g.claim(index);
      cl.seq.store(first + rel, std::memory_order_relaxed);
      cl.state.store(EntryClaim::make(parkHolder(line)), std::memory_order_release);
      claimed++;
      runClaimed(gr, index, line);
    } else if (prev == FLEXVM_ST_CANCEL) {
      cancelledBeforeClaim(gr, index, line);
    }
  }
  PROF_ADD(runCycles, PROF_NOW() - runStart);
  PROF_ADD(entries, uint64_t(claimed));
  if (claimed) {
    g.bumpHost(statsLine(line), FLEXVM_H_CLAIMED, claimed);
    g.bumpHost(statsLine(line), FLEXVM_H_BATCHES);
  }
  __atomic_store_n(g.hostLine(line, FLEXVM_H_NEXT_SEQ), int32_t(l.nextSeq), __ATOMIC_RELEASE);
  return claimed;
}

bool Runner::cancelEntry(const GuestRef& gr, LineState& l, int line, int index, int32_t* e, uint32_t span) {
  EntryClaim& cl = gr->claim(index);
  int32_t st = cl.state.load(std::memory_order_acquire);
  bool claimedNow = (st & EntryClaim::kClaimed) && cl.seq.load(std::memory_order_relaxed) == uint32_t(e[12]);
  if (!claimedNow) {
    // Not claimed in this posting: cancelled while SUBMITTED (the claim CAS can no longer win).
    uint32_t rel = uint32_t(e[12]) - l.nextSeq;
    if (rel < span || rel >= 0x80000000u) {
      cancelledBeforeClaim(gr, index, line);
      return false;
    }
    return true;  // its tail is not published yet
  }
  if (st & EntryClaim::kCancelSeen) return false;
  if (!cl.state.compare_exchange_strong(st, st | EntryClaim::kCancelSeen)) return false;
  // Claimed: it either completed (the result stands) or waits in a syscall thread's readiness loop,
  // which interrupts it: it did not take effect.
  cancelClaimed(gr, index, uint32_t(e[12]), EntryClaim::holder(st));
  return false;
}

void Runner::cancelledBeforeClaim(const GuestRef& gr, int index, int line) {
  Call c;
  c.g = GuestRef(GuestRef(), gr.get());  // completes here: no owning reference needed (runClaimed)
  c.index = index;
  c.thread = line;
  c.sysno = gr->entry(index)[1];
  c.cancelRequested = true;
  if (uint32_t(c.sysno) < uint32_t(kSysnoLimit)) gr->ts[size_t(slot(*gr))]->submitted[c.sysno]++;
  complete(c, -ECANCELED);
}

void Runner::runClaimed(const GuestRef& gr, int index, int line) {
  Guest& g = *gr;
  int32_t* e = g.entry(index);
  // On the stack: most calls complete at once, and only one that parks moves to the heap (an
  // allocation and a free per call were a measurable part of the null call). Its guest reference
  // does not own (no reference count to move twice per call: the caller's `gr` keeps the guest
  // alive for as long as the call runs); one that parks takes an owning one.
  Call c;
  c.g = GuestRef(GuestRef(), gr.get());
  c.index = index;
  c.thread = line;
  c.seq = index >= 0 ? g.claim(index).seq.load(std::memory_order_relaxed) : 0;
  c.sysno = e[1];
  for (int i = 0; i < 6; i++) c.a[i] = e[2 + i];
  c.flags = e[11];
  c.mayPark = (c.flags & FLEXVM_EF_NOWAIT) == 0;
  if (uint32_t(c.sysno) < uint32_t(kSysnoLimit)) g.ts[size_t(slot(g))]->submitted[c.sysno]++;
  // --max-pending bounds what a guest has in flight (parked) on all threads; a close only gives
  // back. Only a call that parks holds a place: one that completes at once costs no atomic update
  // (threads checking at the same moment may overshoot the bound by their number, no more).
  if (c.sysno != FLEXVM_SYS_close && g.pending.load(std::memory_order_relaxed) >= int(g.limits.maxPending)) {
    complete(c, -EAGAIN);
    return;
  }
  int64_t r = execute(c);
  if (c.pokeAll) ex_.wakeAll();
  if (r != PARK) {
    complete(c, r);
    return;
  }
  if (c.sysno != FLEXVM_SYS_close) {
    g.pending++;
    c.counted = true;
  }
  c.g = gr;
  park(new Call(std::move(c)));
}

void Runner::finish(Call* c, int64_t result) {
  complete(*c, result);
  delete c;
}

void Runner::complete(Call& c, int64_t result) {
  Guest& g = *c.g;
  if (c.counted) g.pending--;
  if (!g.attached.load(std::memory_order_relaxed)) return;
  ThreadState& s = *g.ts[size_t(slot(g))];
  int32_t* e = g.entry(c.index);
  e[8] = int32_t(uint32_t(uint64_t(result)));
  e[9] = int32_t(uint32_t(uint64_t(result) >> 32));
  int32_t prev = acas(e, FLEXVM_ST_BUSY, FLEXVM_ST_DONE);
  if (prev != FLEXVM_ST_BUSY) {
    astore(e, FLEXVM_ST_DONE);
    if (prev == FLEXVM_ST_CANCEL) c.cancelRequested = true;
  }
  if (c.index >= 0) {
    uint32_t page = uint32_t(c.index) >> 6;
    uint32_t bit = 1u << (c.index & 31);
    if ((s.doneLo[page] | s.doneHi[page]) == 0) s.dirty.push_back(page);
    if ((c.index & 32) == 0) s.doneLo[page] |= bit;
    else s.doneHi[page] |= bit;
  }
  if (s.pendingDone++ == 0) toFlush_.push_back(g.shared_from_this());  // c.g may not own
  int stats = statsLine(c.thread < g.threads ? c.thread : 0);
  if (c.cancelRequested) g.bumpHost(stats, result == -ECANCELED ? FLEXVM_H_CANCEL_WON : FLEXVM_H_CANCEL_LOST);
  if (uint32_t(c.sysno) < uint32_t(kSysnoLimit)) s.completed[c.sysno]++;
  // A syscall thread counts its completions once per flush; the guest's own thread (inline runs)
  // counts on the line it served, call by call.
  if (thread_ >= 0) s.completedUncounted++;
  else g.bumpHost(stats, FLEXVM_H_COMPLETED);
  if (ex_.options.trace) {
    TraceRecord r;
    r.pid = g.pid;
    r.sysno = c.sysno;
    r.thread = thread_ < 0 ? c.thread : thread_;
    r.flags = c.flags;
    for (int i = 0; i < 6; i++) r.a[i] = c.a[i];
    r.result = result;
    ex_.addTrace(r);
  }
}

void Runner::flush(Guest& g) {
  ThreadState& s = *g.ts[size_t(slot(g))];
  if (s.pendingDone == 0) return;
  for (uint32_t p : s.dirty) {
    if (s.doneLo[p]) aor(g.doneMask(p), int32_t(s.doneLo[p]));
    if (s.doneHi[p]) aor(g.doneMask(p) + 1, int32_t(s.doneHi[p]));
    s.doneLo[p] = s.doneHi[p] = 0;
  }
  s.dirty.clear();
  s.pendingDone = 0;
  if (s.completedUncounted) {
    g.bumpHost(thread_, FLEXVM_H_COMPLETED, s.completedUncounted);
    s.completedUncounted = 0;
  }
  int32_t* completions = g.ctrlWord(FLEXVM_C_COMPLETIONS);
  aadd(completions, 1);
  if (wakesGuest() && aload(g.ctrlWord(FLEXVM_C_GUEST_WAITING)) != 0) {
    futexWakeAll(completions);
    wokeGuest_ = true;
    g.bumpHost(thread_ < 0 ? 0 : thread_, FLEXVM_H_NOTIFIES);
  }
}

void Runner::flushAll() {
  if (toFlush_.empty()) return;
  for (auto& g : toFlush_) flush(*g);
  toFlush_.clear();
}

}  // namespace flexvm
