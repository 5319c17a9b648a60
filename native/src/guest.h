// One guest as the native executor knows it: its memory, the layout of its control block and
// pages (read once at registration), its descriptor table, grants and limits, and the per-thread
// scan state of every syscall thread that serves it.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

// The scan state of one thread line u (the pages p with p % threads == u and the line's sq_tail):
// whoever serves the line holds `lock` for the whole batch, so a line's entries start in seq order
// whichever thread (or the guest's own thread) serves it.
struct LineState {
  std::atomic<int32_t> lock{0};
  uint32_t nextSeq = 0;
  int32_t seenCancel = 0;
  // What the last holder scanned up to, for would-be thieves to look at without the lock.
  std::atomic<uint32_t> scannedTail{0};
  std::atomic<int32_t> scannedCancel{0};
  std::vector<uint32_t> owned;  // pages p with p % threads == u
  std::vector<uint32_t> carryLo, carryHi;
  std::vector<int32_t> bySeq;
  uint32_t pagesSeen = 0;  // pages of the guest's page table taken into `owned` (Guest::takePages)
};

// What one runner (syscall thread t, or the guest's own thread: slot `threads`) keeps about a guest:
// completions not yet announced and per-call counters. Only that runner touches it.
struct ThreadState {
  std::vector<uint32_t> doneLo, doneHi;  // by page (sized for pageMax): completions not yet announced
  std::vector<uint32_t> dirty;           // pages with bits in doneLo/doneHi
  int pendingDone = 0;
  int32_t completedUncounted = 0;  // completions not yet added to the host line's counter
  int32_t seenShim = 0;
  uint32_t submitted[kSysnoLimit] = {};
  uint32_t completed[kSysnoLimit] = {};
};

// The host's own record of an entry's current claim (host memory: a guest cannot forge it).
// `seq` names the posting that was claimed; `state` holds kClaimed, kCancelSeen and the index of the
// syscall thread whose readiness loop holds the call if it parked.
struct EntryClaim {
  std::atomic<uint32_t> seq{0};
  std::atomic<int32_t> state{0};
  static constexpr int32_t kClaimed = 1;
  static constexpr int32_t kCancelSeen = 2;
  static int32_t holder(int32_t state) { return state >> 8; }
  static int32_t make(int holder) { return kClaimed | (holder << 8); }
};

class Guest : public std::enable_shared_from_this<Guest> {
 public:
  // `pageCount` pages at `pagesPtr` to start with; the control block's masks are sized for
  // `maskPages`; at most `pageMax` pages in all (checkLayout has checked these).
  Guest(int gid, int pid, std::string name, GuestMemory mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount,
        uint32_t maskPages, uint32_t pageMax, int threads, Limits limits, bool listenAny);
  ~Guest();

  const int gid;
  const int pid;
  const std::string name;
  GuestMemory mem;
  const uint32_t ctrl, pagesPtr, pageCount;  // the first pages, contiguous at pagesPtr
  const uint32_t maskPages, pageMax;
  const int threads;
  const Limits limits;
  const bool listenAny;
  // --strict-links: opening for writing a regular file with more than one link is EACCES (set at attach).
  bool strictLinks = false;
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
  // Slots 0..threads-1: syscall thread t; slot `threads`: the guest's own thread (inline runs).
  std::vector<std::unique_ptr<ThreadState>> ts;
  std::vector<std::unique_ptr<LineState>> lines;
  int inlineSlot() const { return threads; }

  // The page table (host memory): pages registered so far, the first ones and those added at run
  // time (flexvm.add_pages). A page's address and claims are written before `pages` counts it
  // (release), so whoever reads the count (acquire) may use every page below it.
  std::atomic<uint32_t> pages{0};
  uint32_t entries() const { return pages.load(std::memory_order_acquire) * FLEXVM_ENTRIES_PER_PAGE; }
  EntryClaim& claim(int index) const { return claimPages[uint32_t(index) >> 6][index & 63]; }
  // Registers `count` more pages at `ptr` (the guest's thread): the new page count, or -EINVAL
  // (count < 1, misaligned, in low memory, overlapping the control block or a page), -EFAULT
  // (outside memory), -ENOSPC (past pageMax).
  int addPages(uint32_t ptr, int32_t count);
  // Takes the pages registered since line `line` last looked into its scan (under the line's lock).
  void takePages(LineState& l, int line) const;

  int32_t* ctrlWord(uint32_t off) const { return mem.word(ctrl + off); }
  int32_t* threadLine(int t, uint32_t off) const { return mem.word(ctrl + FLEXVM_THREAD_LINES + 64 * t + off); }
  int32_t* hostLine(int t, uint32_t off) const { return mem.word(ctrl + FLEXVM_HOST_LINES + 64 * t + off); }
  int32_t* entry(int index) const {
    return index < 0 ? mem.word(ctrl + FLEXVM_C_SHIM_ENTRY)
                     : mem.word(pageBase[uint32_t(index) >> 6] + uint32_t(index & 63) * FLEXVM_ENTRY_SIZE);
  }
  int32_t* subMask(uint32_t page) const { return mem.word(ctrl + FLEXVM_SUB_MASK_OFFSET(maskPages) + page * 8); }
  int32_t* doneMask(uint32_t page) const { return mem.word(ctrl + FLEXVM_DONE_MASK_OFFSET(maskPages) + page * 8); }
  // Counter increments (atomic: a line's counters may be bumped by a thief or the guest's own thread).
  void bumpHost(int t, uint32_t off, int32_t n = 1) const { __atomic_fetch_add(hostLine(t, off), n, __ATOMIC_RELAXED); }

 private:
  std::unique_ptr<uint32_t[]> pageBase;                     // pageMax addresses
  std::unique_ptr<std::unique_ptr<EntryClaim[]>[]> claimPages;  // pageMax blocks of 64 claims
  std::mutex growMu;                                        // one registration at a time
};

using GuestRef = std::shared_ptr<Guest>;

// Checks a control block's layout against the memory: a string saying what is wrong, or empty.
std::string checkLayout(const GuestMemory& mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount, uint32_t maskPages,
                        uint32_t pageMax);

}  // namespace flexvm
