// One guest as the native executor knows it: its memory, the layout of its control block and
// pages (read once at registration), its descriptor table, grants and limits, and the per-thread
// scan state of every syscall thread that serves it.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fd-table.h"
#include "flexvm.h"
#include "memory.h"

namespace flexvm {

// Per-system-call counters are kept for numbers below this (Linux x86-64 stays under it).
constexpr int kSysnoLimit = 512;

struct Grant {
  std::vector<std::string> guest;  // normalised components of the guest path
  std::string hostPath;
  int dirfd = -1;                  // O_PATH descriptor of the host directory
  bool readOnly = false;
};

// One rule of the connect() allow-list (host order): a network of `prefix` leading bits, a port or any (-1).
struct ConnectRule {
  uint32_t net = 0;
  int prefix = 32;
  int port = -1;
};

struct Limits {
  uint32_t maxFds = 65536;
  uint32_t maxPending = 65536;
};

// What syscall thread t keeps about one guest (only thread t touches it).
struct ThreadState {
  uint32_t nextSeq = 0;
  int32_t seenCancel = 0;
  int32_t seenShim = 0;
  std::vector<uint32_t> owned;  // pages p with p % threads == t
  std::vector<uint32_t> carryLo, carryHi;
  std::vector<uint32_t> doneLo, doneHi;  // by page: completions not yet announced
  std::vector<uint32_t> dirty;           // pages with bits in doneLo/doneHi
  int pendingDone = 0;
  std::vector<int32_t> bySeq;
  uint32_t submitted[kSysnoLimit] = {};
  uint32_t completed[kSysnoLimit] = {};
};

class Guest {
 public:
  Guest(int gid, int pid, std::string name, GuestMemory mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount,
        int threads, Limits limits, bool listenAny);
  ~Guest();

  const int gid;
  const int pid;
  const std::string name;
  GuestMemory mem;
  const uint32_t ctrl, pagesPtr, pageCount;
  const uint32_t entryCount;
  const int threads;
  const Limits limits;
  const bool listenAny;
  FdTable fds;
  std::vector<Grant> grants;
  // Where connect() may go (set at attach); past it, EACCES before any packet leaves.
  std::vector<ConnectRule> connectRules;
  bool connectAllowed(uint32_t addr, int port) const {
    for (const ConnectRule& r : connectRules) {
      uint32_t mask = r.prefix == 0 ? 0 : 0xffffffffu << (32 - r.prefix);
      if ((addr & mask) == r.net && (r.port < 0 || r.port == port)) return true;
    }
    return false;
  }
  // Calls accepted and not completed, over all threads (--max-pending).
  std::atomic<int> pending{0};
  std::atomic<bool> attached{true};
  // Served by the syscall threads' scans (exceptionless and sync modes); false for a guest whose
  // calls run on its own thread (epoll mode).
  bool scanned = true;
  // The host's ends of the standard-stream pipes made at attach (stdin's write end, stdout's and
  // stderr's read ends), until the embedder takes them (-1: taken or none).
  int stdioHost[3] = {-1, -1, -1};
  std::vector<std::unique_ptr<ThreadState>> ts;

  int32_t* ctrlWord(uint32_t off) const { return mem.word(ctrl + off); }
  int32_t* threadLine(int t, uint32_t off) const { return mem.word(ctrl + FLEXVM_THREAD_LINES + 64 * t + off); }
  int32_t* hostLine(int t, uint32_t off) const { return mem.word(ctrl + FLEXVM_HOST_LINES + 64 * t + off); }
  int32_t* entry(int index) const {
    return index < 0 ? mem.word(ctrl + FLEXVM_C_SHIM_ENTRY) : mem.word(pagesPtr + uint32_t(index) * 64);
  }
  int32_t* subMask(uint32_t page) const { return mem.word(ctrl + FLEXVM_SUB_MASK_OFFSET(pageCount) + page * 8); }
  int32_t* doneMask(uint32_t page) const { return mem.word(ctrl + FLEXVM_DONE_MASK_OFFSET(pageCount) + page * 8); }
  // Counter increments from the only thread that writes the word.
  void bumpHost(int t, uint32_t off, int32_t n = 1) const {
    int32_t* w = hostLine(t, off);
    __atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
  }
};

using GuestRef = std::shared_ptr<Guest>;

// Checks a control block's layout against the memory: a string saying what is wrong, or empty.
std::string checkLayout(const GuestMemory& mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount);

}  // namespace flexvm
