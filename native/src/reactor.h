// The readiness loop of one thread: calls that would block are parked here, their (non-blocking)
// host descriptors watched by this thread's own epoll set, and run again when ready or when their
// deadline passes. An eventfd in the same set lets other threads (a guest's doorbell, a close)
// wake the thread out of epoll_wait.
#pragma once
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "call.h"

namespace flexvm {

class Reactor {
 public:
  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  bool ok() const { return ep_ >= 0 && ev_ >= 0; }
  // Parks a call whose handler returned PARK (waitFile/waitEvents/deadline set).
  void park(Call* c);
  // Removes a parked call (cancelled, or its guest left); the caller owns it again.
  void unpark(Call* c);
  Call* find(const Guest* g, int index);
  // Waits up to timeoutMs (0: only look; -1: until something happens), retries what became ready,
  // fires deadlines, and finishes what completed through `sink`. Returns the number finished.
  int poll(int timeoutMs, Sink& sink, bool* woken = nullptr);
  // Milliseconds until the earliest deadline (-1: none), capped at `cap`.
  int timeoutMs(int cap) const;
  // Wakes the thread out of poll() (any thread may call it).
  void wake();
  size_t parked() const { return calls_.size(); }
  // Drops (without completing) every call of a guest that left.
  void dropGuest(const Guest* g);

 private:
  struct Wait {
    FileRef file;
    uint32_t registered = 0;
    std::vector<Call*> calls;
  };
  void watch(Call* c);
  void unwatch(Call* c);
  void update(int fd, Wait& w);
  int retry(Call* c, Sink& sink);
  static uint64_t key(const Guest* g, int index) { return (uint64_t(uint32_t(g->gid)) << 32) | uint32_t(index); }

  int ep_ = -1;
  int ev_ = -1;
  std::unordered_map<int, Wait> waits_;
  std::multimap<int64_t, Call*> timers_;
  std::unordered_map<uint64_t, Call*> calls_;
  uint64_t localSerial_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace flexvm
