// One system call taken from a guest's entry, and how its handler answers: a result, or PARK
// (it would block: wait for readiness of `waitFile` and/or until `deadline`, then run again).
#pragma once
#include <climits>
#include <cstdint>
#include <map>

#include "guest.h"

namespace flexvm {

constexpr int64_t PARK = INT64_MIN;
constexpr int kShimIndex = -1;   // the control block's shim entry

struct Call {
  // Its guest. A call made and completed on a runner's stack holds a non-owning reference (the
  // runner's own keeps the guest alive); a call that outlives the pass (parked, on the heap) owns one.
  GuestRef g;
  int index = 0;  // entry index in the pages, or kShimIndex
  bool local = false;  // made on the guest's own thread (epoll mode): no masks, no completions word
  int thread = 0;      // the thread line it was posted to
  uint32_t seq = 0;    // its posting's seq (a cancellation names the posting, not only the entry)
  int32_t sysno = 0;
  int32_t a[6] = {};
  int32_t flags = 0;
  // May the call wait? False for NOWAIT entries and the epoll mode's `syscall` import.
  bool mayPark = true;
  bool cancelRequested = false;
  bool counted = false;  // holds a place in the guest's --max-pending count
  // The descriptions the call works on, looked up once (a retry must not find a reused number).
  FileRef file, file2;
  // Set by a handler that parks.
  FileRef waitFile;
  uint32_t waitEvents = 0;
  int64_t deadline = -1;  // CLOCK_MONOTONIC ns, -1: none
  int stage = 0;          // handler's own progress (connect in progress, ...)
  int64_t moved = 0;      // bytes a blocking write moved before it parked (it answers once all are in)
  bool pokeAll = false;   // a close ended descriptors that calls may be parked on
  // Reactor bookkeeping.
  bool hasTimer = false;
  uint64_t parkKey = 0;
  uint64_t readyMark = 0;
  std::multimap<int64_t, Call*>::iterator timer;

  int64_t arg64(int slot) const { return int64_t(uint64_t(uint32_t(a[slot])) | (uint64_t(uint32_t(a[slot + 1])) << 32)); }
};

// Executes the call's handler (from the ABI's table). Returns the result (>= 0 or -errno) or PARK.
int64_t execute(Call& c);

// A parked call that a cancellation ends: undoes what it started, so that it did not take effect.
void interrupted(Call& c);

// Implemented by whoever completes calls (a syscall thread, or a guest's own thread).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void finish(Call* c, int64_t result) = 0;
  // A descriptor was closed while calls were parked on it: every reactor must look.
  virtual void pokeAll() = 0;
};

int64_t monotonicNs();

}  // namespace flexvm
