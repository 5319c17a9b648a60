// The epoll mode on the native kernel: the guest's calls run on the guest's own thread, straight
// from its `syscall`/`yield` imports into the real system call (one import and one trap per call:
// the traditional baseline). A call that would block is parked on this thread's own readiness
// loop, which the host runs (epoll_wait) while the guest has returned to wait.
#pragma once
#include "call.h"
#include "reactor.h"

namespace flexvm {

class Executor;

class LocalRunner final : public Sink {
 public:
  LocalRunner(GuestRef g, std::shared_ptr<Executor> ex) : g_(std::move(g)), ex_(std::move(ex)) {}
  // `flexvm.syscall`: runs the entry now; a call that would wait answers -EAGAIN.
  void syscall(uint32_t entryPtr);
  // `flexvm.yield`: 0 when the entry is DONE, 1 when it was parked (wait() completes it).
  int yield(uint32_t entryPtr);
  // Waits up to timeoutMs for parked calls; returns how many completed.
  int wait(int timeoutMs);
  size_t parked() const { return reactor_.parked(); }
  // The guest ended: drop its parked calls (and the descriptions they hold) without completing them.
  void close() { reactor_.dropGuest(g_.get()); }
  // An import shim's call (WASI) made synchronously; its result.
  int64_t shim(int32_t sysno, const int32_t* args);
  void finish(Call* c, int64_t result) override;
  void pokeAll() override;
  bool ok() const { return reactor_.ok(); }

 private:
  // Claims the entry at `entryPtr` (SUBMITTED to BUSY) into `c`; false if it is not a claimable entry.
  bool claim(uint32_t entryPtr, Call& c);
  void complete(Call& c, int64_t result);
  GuestRef g_;
  std::shared_ptr<Executor> ex_;
  Reactor reactor_;
};

}  // namespace flexvm
