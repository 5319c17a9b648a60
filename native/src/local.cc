#include "local.h"

#include <cerrno>

#include "executor.h"

namespace flexvm {

bool LocalRunner::claim(uint32_t entryPtr, Call& c) {
  Guest& g = *g_;
  if (entryPtr < g.pagesPtr) return false;
  uint32_t off = entryPtr - g.pagesPtr;
  if (off % 64 || off / 64 >= g.pageCount * FLEXVM_ENTRIES_PER_PAGE) return false;  // the first pages
  int index = int(off / 64);
  int32_t* e = g.entry(index);
  if (acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY) != FLEXVM_ST_SUBMITTED) return false;
  c.g = g_;
  c.index = index;
  c.local = true;
  c.sysno = e[1];
  for (int i = 0; i < 6; i++) c.a[i] = e[2 + i];
  c.flags = e[11];
  c.mayPark = (c.flags & FLEXVM_EF_NOWAIT) == 0;
  if (uint32_t(c.sysno) < uint32_t(kSysnoLimit)) g.ts[0]->submitted[c.sysno]++;
  return true;
}

// Calls live on the stack unless they park (then they move to the heap, which the reactor owns).
void LocalRunner::syscall(uint32_t entryPtr) {
  Call c;
  if (!claim(entryPtr, c)) return;
  c.mayPark = false;
  int64_t r = execute(c);
  if (c.pokeAll) pokeAll();
  complete(c, r == PARK ? -EAGAIN : r);
}

int LocalRunner::yield(uint32_t entryPtr) {
  Call c;
  if (!claim(entryPtr, c)) return 0;
  if (c.sysno != FLEXVM_SYS_close && g_->pending.load() >= int(g_->limits.maxPending)) {
    complete(c, -EAGAIN);
    return 0;
  }
  int64_t r = execute(c);
  if (c.pokeAll) pokeAll();
  if (r != PARK) {
    complete(c, r);
    return 0;
  }
  g_->pending++;
  c.counted = true;
  reactor_.park(new Call(std::move(c)));
  return 1;
}

int LocalRunner::wait(int timeoutMs) {
  int t = reactor_.timeoutMs(timeoutMs);
  return reactor_.poll(t, *this);
}

int64_t LocalRunner::shim(int32_t sysno, const int32_t* args) {
  Call c;
  c.g = g_;
  c.index = kShimIndex;
  c.local = true;
  c.sysno = sysno;
  for (int i = 0; i < 4; i++) c.a[i] = args[i];
  c.mayPark = false;
  if (uint32_t(sysno) < uint32_t(kSysnoLimit)) g_->ts[0]->submitted[sysno]++;
  int64_t r = execute(c);
  if (c.pokeAll) pokeAll();
  if (r == PARK) r = -EAGAIN;
  if (uint32_t(sysno) < uint32_t(kSysnoLimit)) g_->ts[0]->completed[sysno]++;
  g_->bumpHost(0, FLEXVM_H_COMPLETED);
  return r;
}

void LocalRunner::finish(Call* c, int64_t result) {
  complete(*c, result);
  delete c;
}

void LocalRunner::complete(Call& c, int64_t result) {
  Guest& g = *g_;
  if (c.counted) g.pending--;
  int32_t* e = g.entry(c.index);
  e[8] = int32_t(uint32_t(uint64_t(result)));
  e[9] = int32_t(uint32_t(uint64_t(result) >> 32));
  e[14] = 0;
  if (acas(e, FLEXVM_ST_BUSY, FLEXVM_ST_DONE) != FLEXVM_ST_BUSY) astore(e, FLEXVM_ST_DONE);
  if (uint32_t(c.sysno) < uint32_t(kSysnoLimit)) g.ts[0]->completed[c.sysno]++;
  g.bumpHost(0, FLEXVM_H_COMPLETED);
  if (ex_ && ex_->options.trace) {
    TraceRecord r;
    r.pid = g.pid;
    r.sysno = c.sysno;
    r.thread = 0;
    r.flags = c.flags;
    for (int i = 0; i < 6; i++) r.a[i] = c.a[i];
    r.result = result;
    ex_->addTrace(r);
  }
}

void LocalRunner::pokeAll() {
  reactor_.wake();
  if (ex_) ex_->wakeAll();
}

}  // namespace flexvm
