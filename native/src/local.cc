#include "local.h"

#include <cerrno>

#include "executor.h"

namespace flexvm {

Call* LocalRunner::claim(uint32_t entryPtr) {
  Guest& g = *g_;
  if (entryPtr < g.pagesPtr) return nullptr;
  uint32_t off = entryPtr - g.pagesPtr;
  if (off % 64 || off / 64 >= g.pageCount * FLEXVM_ENTRIES_PER_PAGE) return nullptr;  // the first pages
  int index = int(off / 64);
  int32_t* e = g.entry(index);
  if (acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY) != FLEXVM_ST_SUBMITTED) return nullptr;
  Call* c = new Call();
  c->g = g_;
  c->index = index;
  c->local = true;
  c->sysno = e[1];
  for (int i = 0; i < 6; i++) c->a[i] = e[2 + i];
  c->flags = e[11];
  c->mayPark = (c->flags & FLEXVM_EF_NOWAIT) == 0;
  account(c);
  return c;
}

void LocalRunner::account(Call* c) {
  if (uint32_t(c->sysno) < uint32_t(kSysnoLimit)) g_->ts[0]->submitted[c->sysno]++;
}

void LocalRunner::syscall(uint32_t entryPtr) {
  Call* c = claim(entryPtr);
  if (!c) return;
  c->mayPark = false;
  int64_t r = execute(*c);
  if (c->pokeAll) pokeAll();
  finish(c, r == PARK ? -EAGAIN : r);
}

int LocalRunner::yield(uint32_t entryPtr) {
  Call* c = claim(entryPtr);
  if (!c) return 0;
  if (c->sysno != FLEXVM_SYS_close && g_->pending.load() >= int(g_->limits.maxPending)) {
    finish(c, -EAGAIN);
    return 0;
  }
  int64_t r = execute(*c);
  if (c->pokeAll) pokeAll();
  if (r != PARK) {
    finish(c, r);
    return 0;
  }
  g_->pending++;
  c->counted = true;
  reactor_.park(c);
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
  Guest& g = *g_;
  if (c->counted) g.pending--;
  int32_t* e = g.entry(c->index);
  e[8] = int32_t(uint32_t(uint64_t(result)));
  e[9] = int32_t(uint32_t(uint64_t(result) >> 32));
  e[14] = 0;
  if (acas(e, FLEXVM_ST_BUSY, FLEXVM_ST_DONE) != FLEXVM_ST_BUSY) astore(e, FLEXVM_ST_DONE);
  if (uint32_t(c->sysno) < uint32_t(kSysnoLimit)) g.ts[0]->completed[c->sysno]++;
  g.bumpHost(0, FLEXVM_H_COMPLETED);
  if (ex_ && ex_->options.trace) {
    TraceRecord r;
    r.pid = g.pid;
    r.sysno = c->sysno;
    r.thread = 0;
    r.flags = c->flags;
    for (int i = 0; i < 6; i++) r.a[i] = c->a[i];
    r.result = result;
    ex_->addTrace(r);
  }
  delete c;
}

void LocalRunner::pokeAll() {
  reactor_.wake();
  if (ex_) ex_->wakeAll();
}

}  // namespace flexvm
