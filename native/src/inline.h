// The paper's flexsc_wait on a core shared with the syscall threads: when a guest is about to sleep
// in flexvm.wait on its completions word, its own thread first serves the guest's lines that no
// syscall thread holds (the same claims, so an entry never runs twice), in one entry into the host
// for the whole batch and with no hand-off between threads. A call that would block goes to the
// readiness loop of its line's syscall thread; only when nothing completed does the guest sleep.
#pragma once
#include "executor.h"
#include "runner.h"

namespace flexvm {

class InlineRunner final : public Runner {
 public:
  InlineRunner(Executor& ex, GuestRef g) : Runner(ex, -1), g_(std::move(g)) {}
  // Serves every line of the guest once; returns the entries claimed.
  int run();
  bool serves(const Executor& ex, const GuestRef& g) const { return &ex == &ex_ && g == g_; }
  void pokeAll() override;

 private:
  void park(Call* c) override;
  int parkHolder(int line) const override { return line; }
  void cancelClaimed(const GuestRef& g, int index, uint32_t seq, int holder) override;
  bool wakesGuest() const override { return false; }

  GuestRef g_;
};

}  // namespace flexvm
