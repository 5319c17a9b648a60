#include "inline.h"

#include <cerrno>

namespace flexvm {

int InlineRunner::run() {
  if (!g_->scanned || !g_->attached.load(std::memory_order_relaxed)) return 0;
  int claimed = 0;
  for (int line = 0; line < g_->threads; line++) {
    int r = serveLine(g_, line);
    if (r > 0) claimed += r;
  }
  flushAll();
  return claimed;
}

void InlineRunner::pokeAll() { ex_.wakeAll(); }

void InlineRunner::park(Call* c) {
  SyscallThread* t = ex_.thread(c->thread);
  if (t) return t->handOver(c);
  finish(c, -EIO);  // cannot happen: a guest's lines never outnumber the executor's threads
}

void InlineRunner::cancelClaimed(const GuestRef& g, int index, uint32_t seq, int holder) {
  if (SyscallThread* t = ex_.thread(holder)) t->forwardCancel(g, index, seq);
}

}  // namespace flexvm
