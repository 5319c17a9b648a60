#include "guest.h"

#include <unistd.h>

namespace flexvm {

Guest::Guest(int gid_, int pid_, std::string name_, GuestMemory mem_, uint32_t ctrl_, uint32_t pagesPtr_,
             uint32_t pageCount_, int threads_, Limits limits_, bool listenAny_)
    : gid(gid_), pid(pid_), name(std::move(name_)), mem(std::move(mem_)), ctrl(ctrl_), pagesPtr(pagesPtr_),
      pageCount(pageCount_), entryCount(pageCount_ * FLEXVM_ENTRIES_PER_PAGE), threads(threads_), limits(limits_),
      listenAny(listenAny_), fds(limits_.maxFds) {
  for (int t = 0; t < threads; t++) {
    auto l = std::make_unique<LineState>();
    for (uint32_t p = uint32_t(t); p < pageCount; p += uint32_t(threads)) l->owned.push_back(p);
    l->carryLo.assign(l->owned.size(), 0);
    l->carryHi.assign(l->owned.size(), 0);
    l->bySeq.assign(entryCount, -1);
    lines.push_back(std::move(l));
  }
  for (int t = 0; t <= threads; t++) {
    auto s = std::make_unique<ThreadState>();
    s->doneLo.assign(pageCount, 0);
    s->doneHi.assign(pageCount, 0);
    ts.push_back(std::move(s));
  }
  claims.reset(new EntryClaim[entryCount]);
}

Guest::~Guest() {
  for (auto& g : grants)
    if (g.dirfd >= 0) ::close(g.dirfd);
  for (int fd : stdioHost)
    if (fd >= 0) ::close(fd);
}

std::string checkLayout(const GuestMemory& mem, uint32_t ctrl, uint32_t pagesPtr, uint32_t pageCount) {
  if (pageCount < 1 || pageCount > FLEXVM_MAX_PAGES) return "page count out of range";
  if (ctrl % 64 || pagesPtr % 64) return "control block or pages not 64-byte aligned";
  uint64_t ctrlEnd = uint64_t(ctrl) + FLEXVM_CTRL_SIZE(uint64_t(pageCount));
  uint64_t pagesEnd = uint64_t(pagesPtr) + uint64_t(pageCount) * FLEXVM_PAGE_SIZE;
  if (ctrlEnd > mem.length() || pagesEnd > mem.length()) return "control block or pages leave memory";
  if (!(pagesEnd <= ctrl || ctrlEnd <= pagesPtr)) return "pages overlap the control block";
  return "";
}

}  // namespace flexvm
