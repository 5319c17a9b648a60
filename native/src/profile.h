// Cycle counters for taking the null call apart (docs/native-kernel.md, "Measured choices"): built
// only with -DFLEXVM_PROFILE (`FLEXVM_NATIVE_PROFILE=1 node scripts/build-native.mjs`); each syscall
// thread then prints where its time went when it stops. Without the flag every macro is empty.
#pragma once
#include <cstdint>

#ifdef FLEXVM_PROFILE
#include <x86intrin.h>

namespace flexvm {
struct Profile {
  uint64_t t0 = 0, ns0 = 0;
  uint64_t busyLoops = 0, busyCycles = 0;  // loop turns that found work
  uint64_t idleLoops = 0, idleCycles = 0;  // turns that found none (spinning)
  uint64_t sleeps = 0, sleepCycles = 0;
  uint64_t entries = 0;
  uint64_t scanCycles = 0, runCycles = 0, flushCycles = 0, casCycles = 0;
};
extern thread_local Profile tProfile;
void profileReport(int thread);
}  // namespace flexvm

#define PROF_NOW() __rdtsc()
#define PROF_ADD(field, v) (flexvm::tProfile.field += (v))
#else
#define PROF_NOW() uint64_t(0)
#define PROF_ADD(field, v) ((void)(v))
#endif
