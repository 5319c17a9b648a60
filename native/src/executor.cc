#include "executor.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>

#include "profile.h"
#include "seccomp.h"

namespace flexvm {

#ifdef FLEXVM_PROFILE
thread_local Profile tProfile;

void profileReport(int thread) {
  const Profile& p = tProfile;
  double nsPerCycle = double(monotonicNs() - int64_t(p.ns0)) / double(__rdtsc() - p.t0);
  double n = p.entries ? double(p.entries) : 1;
  fprintf(stderr,
          "flexvm-sc%d: %llu entries in %llu busy turns (%.1f per turn); per entry: busy %.1f ns (scan %.1f, claim+run %.1f, "
          "flush %.1f, claim cas %.1f); idle %.1f ns in %llu turns; %llu sleeps, %.1f ns per entry asleep\n",
          thread, (unsigned long long)p.entries, (unsigned long long)p.busyLoops, n / double(p.busyLoops ? p.busyLoops : 1),
          double(p.busyCycles) * nsPerCycle / n, double(p.scanCycles) * nsPerCycle / n, double(p.runCycles) * nsPerCycle / n,
          double(p.flushCycles) * nsPerCycle / n, double(p.casCycles) * nsPerCycle / n, double(p.idleCycles) * nsPerCycle / n, (unsigned long long)p.idleLoops,
          (unsigned long long)p.sleeps, double(p.sleepCycles) * nsPerCycle / n);
}
#endif

namespace {
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

SyscallThread::SyscallThread(Executor& ex, int index) : Runner(ex, index), index_(index) {}

void SyscallThread::start() {
  th_ = std::thread([this] {
    // Named so that /proc/self/task shows which threads are the executor's (and carry its filter).
    char name[16];
    snprintf(name, sizeof name, "flexvm-sc%d", index_);
    pthread_setname_np(pthread_self(), name);
    if (ex_.options.seccomp) installSyscallThreadFilter();  // without it (refused), the thread still serves
#ifdef FLEXVM_PROFILE
    tProfile.t0 = __rdtsc();
    tProfile.ns0 = uint64_t(monotonicNs());
#endif
    loop();
#ifdef FLEXVM_PROFILE
    profileReport(index_);
#endif
  });
}

void SyscallThread::join() {
  if (th_.joinable()) th_.join();
  std::lock_guard<std::mutex> lock(mbMu_);
  for (auto& m : mailbox_) delete m.park;
  mailbox_.clear();
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
  guests_ = std::move(now);
  gen_ = gen;
  ex_.ack(index_, gen);
}

void SyscallThread::setNeedsWakeup(int32_t v) {
  for (auto& g : guests_)
    if (index_ < g->threads) astore(g->threadLine(index_, FLEXVM_T_NEEDS_WAKEUP), v);
}

void SyscallThread::handOver(Call* c) {
  {
    std::lock_guard<std::mutex> lock(mbMu_);
    mailbox_.push_back(Message{c, nullptr, 0, 0});
    mailCount_.fetch_add(1);
  }
  if (state_.load() == kSleeping) wake();
}

void SyscallThread::forwardCancel(const GuestRef& g, int index, uint32_t seq) {
  {
    std::lock_guard<std::mutex> lock(mbMu_);
    mailbox_.push_back(Message{nullptr, g, index, seq});
    mailCount_.fetch_add(1);
  }
  if (state_.load() == kSleeping) wake();
}

// Parks the calls other runners handed over and answers the cancellations they forwarded, in the
// order they came (a call's hand-over always comes before its cancellation).
int SyscallThread::drainMailbox() {
  if (mailCount_.load(std::memory_order_acquire) == 0) return 0;
  std::vector<Message> mail;
  {
    std::lock_guard<std::mutex> lock(mbMu_);
    mail.swap(mailbox_);
    mailCount_.store(0);
  }
  for (auto& m : mail) {
    if (m.park) {
      if (!m.park->g->attached.load()) {
        if (m.park->counted) m.park->g->pending--;
        delete m.park;
      } else {
        reactor_.park(m.park);
      }
    } else {
      cancelHere(m.g, m.index, m.seq);
    }
  }
  return int(mail.size());
}

void SyscallThread::park(Call* c) { reactor_.park(c); }

void SyscallThread::cancelClaimed(const GuestRef& g, int index, uint32_t seq, int holder) {
  if (holder == index_) return cancelHere(g, index, seq);
  if (SyscallThread* t = ex_.thread(holder)) t->forwardCancel(g, index, seq);
}

// Interrupts a parked call (it did not take effect); one that already completed keeps its result.
void SyscallThread::cancelHere(const GuestRef& g, int index, uint32_t seq) {
  Call* c = reactor_.find(g.get(), index);
  if (!c && mailCount_.load() != 0) {
    drainMailbox();
    c = reactor_.find(g.get(), index);
  }
  if (!c || c->seq != seq) return;
  reactor_.unpark(c);
  c->cancelRequested = true;
  if (c->moved == 0) interrupted(*c);
  // A write that moved bytes took effect: it answers with their count, as Linux's does when interrupted.
  finish(c, c->moved > 0 ? c->moved : -ECANCELED);
}

void SyscallThread::loop() {
  int64_t spin = ex_.options.spinNs;
  int64_t lastWork = monotonicNs();
  int64_t lastPoll = 0;
  while (!ex_.stopping_.load(std::memory_order_relaxed)) {
    uint64_t turn = PROF_NOW();
    refresh();
    state_.store(kRunning, std::memory_order_relaxed);
    int work = drainMailbox();
    work += pass();
    if (reactor_.parked() && (work || monotonicNs() - lastPoll >= ex_.options.pollNs)) {
      work += reactor_.poll(0, *this);
      lastPoll = monotonicNs();
    }
    if (!work && ex_.options.steal) work += steal();
    uint64_t flushStart = PROF_NOW();
    flushAll();
    PROF_ADD(flushCycles, PROF_NOW() - flushStart);
    int64_t now = monotonicNs();
    if (work) {
      PROF_ADD(busyLoops, 1);
      PROF_ADD(busyCycles, PROF_NOW() - turn);
      lastWork = now;
      continue;
    }
    PROF_ADD(idleLoops, 1);
    PROF_ADD(idleCycles, PROF_NOW() - turn);
    state_.store(kSpinning, std::memory_order_relaxed);
    if (now - lastWork < spin || lineBusy_) {
      for (int i = 0; i < 16; i++) cpuRelax();
      // A spinning thread holds its core. Where the guest it just woke shares that core (more
      // runnable threads than cores: a loaded machine), the guest would wait for the scheduler to
      // take the core away before it could post more: offer it once, at once.
      if (wokeGuest_ && ex_.options.yieldAfterWake) sched_yield();
      wokeGuest_ = false;
      continue;
    }
    // Sleep: say so in every guest's line, look once more (a post that raced the flag), then wait
    // in the readiness loop for a doorbell, a descriptor or a deadline. A line held by another
    // runner may have been served before its latest post: look again rather than sleep.
    setNeedsWakeup(1);
    state_.store(kSleeping);
    work = drainMailbox();
    work += pass();
    flushAll();
    if (work || lineBusy_) {
      setNeedsWakeup(0);
      lastWork = monotonicNs();
      continue;
    }
    for (auto& g : guests_)
      if (index_ < g->threads) g->bumpHost(index_, FLEXVM_H_SLEEPS);
    int64_t slept = monotonicNs();
    bool woken = false;
    uint64_t sleepStart = PROF_NOW();
    reactor_.poll(reactor_.timeoutMs(1000), *this, &woken);
    PROF_ADD(sleeps, 1);
    PROF_ADD(sleepCycles, PROF_NOW() - sleepStart);
    state_.store(kRunning, std::memory_order_relaxed);
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

// This thread's own line of every guest (and the shim entry posted to it).
int SyscallThread::pass() {
  int work = 0;
  lineBusy_ = false;
  for (auto& gr : guests_) {
    Guest& g = *gr;
    if (index_ >= g.threads || !g.scanned) continue;
    int r = serveLine(gr, index_);
    if (r < 0) lineBusy_ = true;
    else work += r;
    ThreadState& s = *g.ts[size_t(index_)];
    int32_t shim = aload(g.ctrlWord(FLEXVM_C_SHIM_SEQ));
    if (shim != s.seenShim) {
      s.seenShim = shim;
      int32_t* e = g.entry(kShimIndex);
      if (e[13] == index_ && acas(e, FLEXVM_ST_SUBMITTED, FLEXVM_ST_BUSY) == FLEXVM_ST_SUBMITTED) {
        runClaimed(gr, kShimIndex, index_);
        work++;
      }
    }
  }
  return work;
}

// Work stealing by line (the pages of one line, locked while their batch is issued, as the paper's
// syscall threads lock a page): with nothing of its own to do, a thread serves the published
// entries of another thread's line when that thread is busy or asleep. fd % N is then a hint.
int SyscallThread::steal() {
  int work = 0;
  for (auto& gr : guests_) {
    Guest& g = *gr;
    if (index_ >= g.threads || !g.scanned) continue;
    for (int u = 0; u < g.threads; u++) {
      if (u == index_) continue;
      SyscallThread* owner = ex_.thread(u);
      if (owner && owner->state() == kSpinning) continue;
      int r = serveLine(gr, u);
      if (r > 0) work += r;
    }
  }
  return work;
}

}  // namespace flexvm
