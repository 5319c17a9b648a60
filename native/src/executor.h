// The native syscall threads of one VM (paper section 3.2.1, in user space): each polls the
// syscall pages it owns in every registered guest, claims SUBMITTED entries in submission order with
// the ABI's state machine, runs them as real system calls, parks those that would block on its own
// readiness loop, writes results back and wakes a guest only if it waits. Any thread serves any
// descriptor (descriptors are process-wide): the guest's fd % threads routing only spreads work.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "call.h"
#include "guest.h"
#include "reactor.h"
#include "runner.h"

namespace flexvm {

struct ExecutorOptions {
  int threads = 1;
  int64_t spinNs = 100000;     // idle polling before sleeping (adaptive from here...)
  int64_t maxSpinNs = 100000;  // ...up to here, doubled after sleeps that ended soon
  bool trace = false;
  bool steal = true;           // an idle thread serves lines whose own thread is busy or asleep
  bool inlineWait = false;     // flexvm.wait runs the guest's pending entries on its own thread first
  int64_t pollNs = 0;          // while idle, look at the readiness set at most this often
  bool yieldAfterWake = true;  // a thread that woke a guest and found no work offers its core once
  bool seccomp = true;         // each syscall thread installs seccomp.h's filter on itself
};

// One completed call, for --trace (formatted in JavaScript).
struct TraceRecord {
  int32_t pid, sysno, thread, flags;
  int32_t a[6];
  int64_t result;
};

class SyscallThread final : public Runner {
 public:
  SyscallThread(Executor& ex, int index);
  void start();
  void join();
  void wake() { reactor_.wake(); }
  bool ok() const { return reactor_.ok(); }
  void pokeAll() override;
  // From another runner: keep this call that would block (posted to this thread's line) in this
  // thread's readiness loop; interrupt the parked call of posting `seq` in entry `index`.
  void handOver(Call* c);
  void forwardCancel(const GuestRef& g, int index, uint32_t seq);
  // What the thread does now: a thief leaves the lines of a spinning thread alone (it is about to
  // look at them itself) and serves those of a busy or sleeping one.
  enum State : int { kSpinning = 0, kRunning = 1, kSleeping = 2 };
  State state() const { return State(state_.load(std::memory_order_relaxed)); }

 private:
  struct Message {
    Call* park = nullptr;  // a call to park, or (null) a cancellation of g's entry `index`
    GuestRef g;
    int index = 0;
    uint32_t seq = 0;
  };
  void loop();
  void refresh();
  int pass();
  int steal();
  int drainMailbox();
  void park(Call* c) override;
  int parkHolder(int) const override { return index_; }
  void cancelClaimed(const GuestRef& g, int index, uint32_t seq, int holder) override;
  void cancelHere(const GuestRef& g, int index, uint32_t seq);
  void setNeedsWakeup(int32_t v);

  const int index_;
  Reactor reactor_;
  std::thread th_;
  std::vector<GuestRef> guests_;
  uint64_t gen_ = ~uint64_t(0);
  std::atomic<int> state_{kRunning};
  std::mutex mbMu_;
  std::vector<Message> mailbox_;
  std::atomic<int> mailCount_{0};
  bool lineBusy_ = false;  // a pass found one of this thread's own lines held by another runner
};

class Executor {
 public:
  explicit Executor(ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const ExecutorOptions options;
  bool ok() const;
  void attach(const GuestRef& g);
  // Stops serving a guest: every thread drops its parked calls, then its descriptors are closed.
  GuestRef detach(int gid);
  GuestRef find(int gid);
  void wakeThread(int t);
  void wakeAll();
  SyscallThread* thread(int t) { return t >= 0 && t < int(threads_.size()) ? threads_[size_t(t)].get() : nullptr; }
  std::vector<TraceRecord> takeTrace();
  void addTrace(const TraceRecord& r);

 private:
  friend class SyscallThread;
  std::vector<GuestRef> snapshot(uint64_t* gen);
  void ack(int thread, uint64_t gen);

  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> gen_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<GuestRef> guests_;
  std::vector<uint64_t> acked_;
  std::vector<std::unique_ptr<SyscallThread>> threads_;
  std::mutex traceMu_;
  std::deque<TraceRecord> trace_;
};

// Wakes every waiter on a 32-bit word of shared memory (the guest sleeps through the addon's futex).
void futexWakeAll(int32_t* word);
// Waits while *word == expected, at most timeoutNs (< 0: no limit). 0: woken, 1: not equal, 2: timed out.
int futexWait(int32_t* word, int32_t expected, int64_t timeoutNs);

}  // namespace flexvm
