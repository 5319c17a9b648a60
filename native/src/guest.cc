#include "guest.h"

#include <unistd.h>

#include <cerrno>

namespace flexvm {

Guest::Guest(int gid_, int pid_, std::string name_, GuestMemory mem_, uint32_t ctrl_, uint32_t pagesPtr_,
             uint32_t pageCount_, uint32_t maskPages_, uint32_t pageMax_, int threads_, Limits limits_, bool listenAny_)
    : gid(gid_), pid(pid_), name(std::move(name_)), mem(std::move(mem_)), ctrl(ctrl_), pagesPtr(pagesPtr_),
      pageCount(pageCount_), maskPages(maskPages_), pageMax(pageMax_), threads(threads_), limits(limits_),
      listenAny(listenAny_), fds(limits_.maxFds), pageBase(new uint32_t[pageMax_]()),
      claimPages(new std::unique_ptr<EntryClaim[]>[pageMax_]) {
  for (uint32_t p = 0; p < pageCount; p++) {
    pageBase[p] = pagesPtr + p * FLEXVM_PAGE_SIZE;
    claimPages[p].reset(new EntryClaim[FLEXVM_ENTRIES_PER_PAGE]);
  }
  pages.store(pageCount, std::memory_order_release);
  for (int t = 0; t < threads; t++) {
    auto l = std::make_unique<LineState>();
    takePages(*l, t);
    lines.push_back(std::move(l));
  }
  for (int t = 0; t <= threads; t++) {
    auto s = std::make_unique<ThreadState>();
    s->doneLo.assign(pageMax, 0);
    s->doneHi.assign(pageMax, 0);
    ts.push_back(std::move(s));
  }
}

Guest::~Guest() {
  for (auto& g : grants)
    if (g.dirfd >= 0) ::close(g.dirfd);
  for (int fd : stdioHost)
    if (fd >= 0) ::close(fd);
}

void Guest::takePages(LineState& l, int line) const {
  uint32_t n = pages.load(std::memory_order_acquire);
  if (n == l.pagesSeen) return;
  for (uint32_t p = l.pagesSeen; p < n; p++) {
    if (p % uint32_t(threads) != uint32_t(line)) continue;
    l.owned.push_back(p);
    l.carryLo.push_back(0);
    l.carryHi.push_back(0);
  }
  // bySeq holds one posting per entry at most (a larger span is a protocol breach, resynchronised).
  l.bySeq.resize(size_t(n) * FLEXVM_ENTRIES_PER_PAGE, -1);
  l.pagesSeen = n;
}

int Guest::addPages(uint32_t ptr, int32_t n) {
  std::lock_guard<std::mutex> lock(growMu);
  uint32_t have = pages.load(std::memory_order_relaxed);
  if (n < 1) return -EINVAL;
  uint32_t count = uint32_t(n);
  if (count > pageMax - have) return -ENOSPC;
  if (ptr % FLEXVM_ENTRY_SIZE || ptr < 1024) return -EINVAL;
  uint64_t end = uint64_t(ptr) + uint64_t(count) * FLEXVM_PAGE_SIZE;
  if (end > mem.length()) return -EFAULT;
  uint64_t ctrlEnd = uint64_t(ctrl) + FLEXVM_CTRL_SIZE(uint64_t(maskPages));
  if (ptr < ctrlEnd && ctrl < end) return -EINVAL;
  for (uint32_t p = 0; p < have; p++)
    if (ptr < uint64_t(pageBase[p]) + FLEXVM_PAGE_SIZE && pageBase[p] < end) return -EINVAL;
  for (uint32_t i = 0; i < count; i++) {
    pageBase[have + i] = ptr + i * FLEXVM_PAGE_SIZE;
    claimPages[have + i].reset(new EntryClaim[FLEXVM_ENTRIES_PER_PAGE]);
  }
  pages.store(have + count, std::memory_order_release);
  return int(have + count);
}

std::string checkLayout(const GuestMemory& mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount, uint32_t maskPages,
                        uint32_t pageMax) {
  if (pageCount < 1 || pageCount > FLEXVM_MAX_PAGES) return "page count out of range";
  if (maskPages < pageCount || maskPages > FLEXVM_MAX_PAGES) return "mask pages out of range";
  if (pageMax < pageCount || pageMax > maskPages) return "page limit out of range";
  if (ctrl % 64 || pagesPtr % 64) return "control block or pages not 64-byte aligned";
  uint64_t ctrlEnd = uint64_t(ctrl) + FLEXVM_CTRL_SIZE(uint64_t(maskPages));
  uint64_t pagesEnd = uint64_t(pagesPtr) + uint64_t(pageCount) * FLEXVM_PAGE_SIZE;
  if (ctrlEnd > mem.length() || pagesEnd > mem.length()) return "control block or pages leave memory";
  if (!(pagesEnd <= ctrl || ctrlEnd <= pagesPtr)) return "pages overlap the control block";
  return "";
}

}  // namespace flexvm
