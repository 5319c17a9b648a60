#include "executor.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <ctime>

namespace flexvm {

namespace {
constexpr int32_t kHostClaimed = 1;
constexpr int32_t kHostCancelSeen = 2;
constexpr int64_t kShortSleepNs = 1000000;  // a doorbell this soon after sleeping: spin longer
constexpr int64_t kLongSleepNs = 50000000;  // a sleep this long: the thread is idle, spin less

inline void cpuRelax() { __builtin_ia32_pause(); }
}  // namespace

void futexWakeAll(int32_t* word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0); }

int futexWait(int32_t* word, int32_t expected, int64_t timeoutNs) {
  struct timespec ts;
  struct timespec* tp = nullptr;
  if (timeoutNs >= 0) {
    ts.tv_sec = time_t(timeoutNs / 1000000000);
    ts.tv_nsec = long(timeoutNs % 1000000000);
    tp = &ts;
  }
  long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, tp, nullptr, 0);
  if (r == 0) return 0;
  if (errno == EAGAIN) return 1;
  if (errno == ETIMEDOUT) return 2;
  return 0;  // EINTR: a spurious wake-up, the caller looks again
}

// ------------------------------------------------------------------ Executor

Executor::Executor(ExecutorOptions o) : options(o) {
  acked_.assign(size_t(options.threads), 0);
  for (int t = 0; t < options.threads; t++) threads_.push_back(std::make_unique<SyscallThread>(*this, t));
  for (auto& t : threads_) t->start();
}

Executor::~Executor() {
  stopping_ = true;
  for (auto& t : threads_) t->wake();
  for (auto& t : threads_) t->join();
  threads_.clear();
}

bool Executor::ok() const {
  for (auto& t : threads_)
    if (!t->ok()) return false;
  return true;
}

void Executor::attach(const GuestRef& g) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    guests_.push_back(g);
    gen_++;
  }
  wakeAll();
}

GuestRef Executor::detach(int gid) {
  GuestRef g;
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < guests_.size(); i++) {
      if (guests_[i]->gid != gid) continue;
      g = guests_[i];
      guests_.erase(guests_.begin() + long(i));
      break;
    }
    if (!g) return nullptr;
    g->attached = false;
    target = ++gen_;
  }
  wakeAll();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(2), [&] {
      for (uint64_t a : acked_)
        if (a < target) return false;
      return true;
    });
  }
  g->fds.clear();  // peers see EOF (or a reset) once no parked call holds a description
  return g;
}

GuestRef Executor::find(int gid) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& g : guests_)
    if (g->gid == gid) return g;
  return nullptr;
}

void Executor::wakeThread(int t) {
  if (t >= 0 && t < int(threads_.size())) threads_[size_t(t)]->wake();
}

void Executor::wakeAll() {
  for (auto& t : threads_) t->wake();
}

std::vector<GuestRef> Executor::snapshot(uint64_t* gen) {
  std::lock_guard<std::mutex> lock(mu_);
  *gen = gen_.load();
  return guests_;
}

void Executor::ack(int thread, uint64_t gen) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (acked_[size_t(thread)] < gen) acked_[size_t(thread)] = gen;
  }
  cv_.notify_all();
}

std::vector<TraceRecord> Executor::takeTrace() {
  std::lock_guard<std::mutex> lock(traceMu_);
  std::vector<TraceRecord> out(trace_.begin(), trace_.end());
  trace_.clear();
  return out;
}

void Executor::addTrace(const TraceRecord& r) {
  std::lock_guard<std::mutex> lock(traceMu_);
  if (trace_.size() < 100000) trace_.push_back(r);
}

// ------------------------------------------------------------------ SyscallThread

SyscallThread::SyscallThread(Executor& ex, int index) : ex_(ex), index_(index) {}

void SyscallThread::start() { th_ = std::thread([this] { loop(); }); }

void SyscallThread::join() {
  if (th_.joinable()) th_.join();
}

void SyscallThread::pokeAll() { ex_.wakeAll(); }

void SyscallThread::refresh() {
  if (ex_.gen_.load(std::memory_order_acquire) == gen_) return;
  uint64_t gen;
  std::vector<GuestRef> now = ex_.snapshot(&gen);
  for (auto& old : guests_) {
    bool still = false;
    for (auto& g : now) still |= g == old;
    if (!still) reactor_.dropGuest(old.get());
  }
  toFlush_.clear();
  guests_ = std::move(now);
  gen_ = gen;
  ex_.ack(index_, gen);
}

void SyscallThread::setNeedsWakeup(int32_t v) {
  for (auto& g : guests_)
    if (index_ < g->threads) astore(g->threadLine(index_, FLEXVM_T_NEEDS_WAKEUP), v);
}

void SyscallThread::loop() {
  int64_t spin = ex_.options.spinNs;
  int64_t lastWork = monotonicNs();
  while (!ex_.stopping_.load(std::memory_order_relaxed)) {
    refresh();
    int work = pass();
    if (reactor_.parked()) work += reactor_.poll(0, *this);
    flushAll();
    int64_t now = monotonicNs();
    if (work) {
      lastWork = now;
      continue;
    }
    if (now - lastWork < spin) {
      for (int i = 0; i < 16; i++) cpuRelax();
      continue;
    }
    // Sleep: say so in every guest's line, look once more (a post that raced the flag), then wait
    // in the readiness loop for a doorbell, a descriptor or a deadline.
    setNeedsWakeup(1);
    work = pass();
    flushAll();
    if (work) {
      setNeedsWakeup(0);
      lastWork = monotonicNs();
      continue;
    }
    for (auto& g : guests_)
      if (index_ < g->threads) g->bumpHost(index_, FLEXVM_H_SLEEPS);
    int64_t slept = monotonicNs();
    bool woken = false;
    reactor_.poll(reactor_.timeoutMs(1000), *this, &woken);
    setNeedsWakeup(0);
    if (woken)
      for (auto& g : guests_)
        if (index_ < g->threads) g->bumpHost(index_, FLEXVM_H_WAKEUPS);
    flushAll();
    now = monotonicNs();
    slept = now - slept;
    if (woken && slept < kShortSleepNs) spin = std::min(ex_.options.maxSpinNs, spin * 2);
    else if (slept > kLongSleepNs) spin = std::max(ex_.options.spinNs, spin / 2);
    lastWork = now;
  }
}

int SyscallThread::pass() {
  int work = 0;
  for (auto& g : guests_)
    if (index_ < g->threads && g->scanned) work += scanGuest(g);
  return work;
}

int SyscallThread::scanGuest(const GuestRef& gr) {
  Guest& g = *gr;
  ThreadState& s = *g.ts[size_t(index_)];
  int32_t shim = aload(g.ctrlWord(FLEXVM_C_SHIM_SEQ));
  uint32_t tail = uint32_t(aload(g.threadLine(index_, FLEXVM_T_SQ_TAIL)));
  int32_t cancels = aload(g.threadLine(index_, FLEXVM_T_CANCEL_TAIL));
  int work = 0;
  if (tail != s.nextSeq || cancels != s.seenCancel) {
    s.seenCancel = cancels;
    g.bumpHost(index_, FLEXVM_H_SCANS);
    work += scanPages(gr, s, tail);
  }
  if (shim != s.seenShim) {
    s.seenShim = shim;
    int32_t* e = g.entry(kShimIndex);
    if (e[13] == index_ && acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY) == FLEXVM_ST_SUBMITTED) {
      e[14] = kHostClaimed;
      runEntry(gr, kShimIndex);
      work++;
    }
  }
  return work;
}

// Runs the entries published since the last pass (seq in [nextSeq, tail)) in seq order, found
// through the pages' submission masks; answers cancellations. Idle entries cost nothing.
int SyscallThread::scanPages(const GuestRef& gr, ThreadState& s, uint32_t tail) {
  Guest& g = *gr;
  uint32_t span = tail - s.nextSeq;
  if (span > g.entryCount) span = 0;  // the guest broke the protocol: resynchronise at its tail
  int found = 0;
  for (size_t k = 0; k < s.owned.size(); k++) {
    uint32_t p = s.owned[k];
    int32_t* w = g.subMask(p);
    uint32_t lo = s.carryLo[k], hi = s.carryHi[k];
    if (aload(w) != 0) lo |= uint32_t(axchg(w, 0));
    if (aload(w + 1) != 0) hi |= uint32_t(axchg(w + 1, 0));
    if ((lo | hi) == 0) continue;
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
          uint32_t rel = uint32_t(e[12]) - s.nextSeq;
          if (rel < span) {
            if (s.bySeq[rel] == -1) found++;
            s.bySeq[rel] = index;
          } else {
            keep = rel < 0x80000000u;  // posted after the tail we read: look again
          }
        } else if (status == FLEXVM_ST_CANCEL) {
          keep = cancelEntry(gr, s, index, e, span);
        }
        if (keep) (half == 0 ? keepLo : keepHi) |= 1u << bit;
      }
    }
    s.carryLo[k] = keepLo;
    s.carryHi[k] = keepHi;
  }
  s.nextSeq = tail;
  int claimed = 0;
  for (uint32_t rel = 0; rel < span && found > 0; rel++) {
    int index = s.bySeq[rel];
    if (index == -1) continue;
    s.bySeq[rel] = -1;
    found--;
    int32_t* e = g.entry(index);
    int32_t prev = acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY);
    if (prev == FLEXVM_ST_SUBMITTED) {
      e[14] = kHostClaimed;
      claimed++;
      runEntry(gr, index);
    } else if (prev == FLEXVM_ST_CANCEL) {
      cancelledBeforeClaim(gr, index);
    }
  }
  if (claimed) {
    g.bumpHost(index_, FLEXVM_H_CLAIMED, claimed);
    g.bumpHost(index_, FLEXVM_H_BATCHES);
  }
  __atomic_store_n(g.hostLine(index_, FLEXVM_H_NEXT_SEQ), int32_t(s.nextSeq), __ATOMIC_RELEASE);
  return claimed;
}

bool SyscallThread::cancelEntry(const GuestRef& gr, ThreadState& s, int index, int32_t* e, uint32_t span) {
  int32_t host = e[14];
  if (host == 0) {
    uint32_t rel = uint32_t(e[12]) - s.nextSeq;
    if (rel < span || rel >= 0x80000000u) {
      cancelledBeforeClaim(gr, index);
      return false;
    }
    return true;
  }
  if (host & kHostCancelSeen) return false;
  e[14] = host | kHostCancelSeen;
  // Claimed: parked here (a call this thread runs never overlaps its scan). Interrupt it: it did
  // not take effect. Not parked: it completed, and the result stands.
  Call* c = reactor_.find(gr.get(), index);
  if (c) {
    reactor_.unpark(c);
    c->cancelRequested = true;
    if (c->moved == 0) interrupted(*c);
    // A write that moved bytes took effect: it answers with their count, as Linux's does when interrupted.
    finish(c, c->moved > 0 ? c->moved : -ECANCELED);
  }
  return false;
}

void SyscallThread::cancelledBeforeClaim(const GuestRef& gr, int index) {
  Call* c = new Call();
  c->g = gr;
  c->index = index;
  c->thread = index_;
  c->sysno = gr->entry(index)[1];
  c->cancelRequested = true;
  if (uint32_t(c->sysno) < uint32_t(kSysnoLimit)) gr->ts[size_t(index_)]->submitted[c->sysno]++;
  finish(c, -ECANCELED);
}

void SyscallThread::runEntry(const GuestRef& gr, int index) {
  Guest& g = *gr;
  int32_t* e = g.entry(index);
  Call* c = new Call();
  c->g = gr;
  c->index = index;
  c->thread = index_;
  c->sysno = e[1];
  for (int i = 0; i < 6; i++) c->a[i] = e[2 + i];
  c->flags = e[11];
  c->mayPark = (c->flags & FLEXVM_EF_NOWAIT) == 0;
  if (uint32_t(c->sysno) < uint32_t(kSysnoLimit)) g.ts[size_t(index_)]->submitted[c->sysno]++;
  // --max-pending bounds what a guest has in flight on all threads; a close only gives back.
  if (c->sysno != FLEXVM_SYS_close) {
    if (g.pending.fetch_add(1) >= int(g.limits.maxPending)) {
      g.pending--;
      finish(c, -EAGAIN);
      return;
    }
    c->counted = true;
  }
  int64_t r = execute(*c);
  if (c->pokeAll) pokeAll();
  if (r == PARK) reactor_.park(c);
  else finish(c, r);
}

void SyscallThread::finish(Call* c, int64_t result) {
  Guest& g = *c->g;
  if (c->counted) g.pending--;
  if (!g.attached.load(std::memory_order_relaxed)) {
    delete c;
    return;
  }
  ThreadState& s = *g.ts[size_t(index_)];
  int32_t* e = g.entry(c->index);
  e[8] = int32_t(uint32_t(uint64_t(result)));
  e[9] = int32_t(uint32_t(uint64_t(result) >> 32));
  e[14] = 0;
  int32_t prev = acas(e, FLEXVM_ST_BUSY, FLEXVM_ST_DONE);
  if (prev != FLEXVM_ST_BUSY) {
    astore(e, FLEXVM_ST_DONE);
    if (prev == FLEXVM_ST_CANCEL) c->cancelRequested = true;
  }
  if (c->index >= 0) {
    uint32_t page = uint32_t(c->index) >> 6;
    uint32_t bit = 1u << (c->index & 31);
    if ((s.doneLo[page] | s.doneHi[page]) == 0) s.dirty.push_back(page);
    if ((c->index & 32) == 0) s.doneLo[page] |= bit;
    else s.doneHi[page] |= bit;
  }
  if (s.pendingDone++ == 0) toFlush_.push_back(c->g);
  if (c->cancelRequested) g.bumpHost(index_, result == -ECANCELED ? FLEXVM_H_CANCEL_WON : FLEXVM_H_CANCEL_LOST);
  if (uint32_t(c->sysno) < uint32_t(kSysnoLimit)) s.completed[c->sysno]++;
  g.bumpHost(index_, FLEXVM_H_COMPLETED);
  if (ex_.options.trace) {
    TraceRecord r;
    r.pid = g.pid;
    r.sysno = c->sysno;
    r.thread = index_;
    r.flags = c->flags;
    for (int i = 0; i < 6; i++) r.a[i] = c->a[i];
    r.result = result;
    ex_.addTrace(r);
  }
  delete c;
}

void SyscallThread::flush(Guest& g) {
  ThreadState& s = *g.ts[size_t(index_)];
  if (s.pendingDone == 0) return;
  for (uint32_t p : s.dirty) {
    if (s.doneLo[p]) aor(g.doneMask(p), int32_t(s.doneLo[p]));
    if (s.doneHi[p]) aor(g.doneMask(p) + 1, int32_t(s.doneHi[p]));
    s.doneLo[p] = s.doneHi[p] = 0;
  }
  s.dirty.clear();
  s.pendingDone = 0;
  int32_t* completions = g.ctrlWord(FLEXVM_C_COMPLETIONS);
  aadd(completions, 1);
  if (aload(g.ctrlWord(FLEXVM_C_GUEST_WAITING)) != 0) {
    futexWakeAll(completions);
    g.bumpHost(index_, FLEXVM_H_NOTIFIES);
  }
}

void SyscallThread::flushAll() {
  if (toFlush_.empty()) return;
  for (auto& g : toFlush_) flush(*g);
  toFlush_.clear();
}

}  // namespace flexvm
