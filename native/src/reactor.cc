#include "reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace flexvm {

static constexpr uint64_t kWakeTag = ~uint64_t(0);

int64_t monotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Reactor::Reactor() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  ev_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ep_ >= 0 && ev_ >= 0) {
    struct epoll_event e = {};
    e.events = EPOLLIN;
    e.data.u64 = kWakeTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, ev_, &e);
  }
}

Reactor::~Reactor() {
  for (auto& kv : calls_) {
    Call* c = kv.second;
    if (c->file) c->file->parked--;
    delete c;
  }
  calls_.clear();
  waits_.clear();
  if (ep_ >= 0) ::close(ep_);
  if (ev_ >= 0) ::close(ev_);
}

void Reactor::wake() {
  uint64_t one = 1;
  ssize_t r = ::write(ev_, &one, sizeof one);
  (void)r;  // EAGAIN: the counter is already non-zero, the thread will wake anyway
}

void Reactor::park(Call* c) {
  c->parkKey = c->local ? (uint64_t(1) << 63) | ++localSerial_ : key(c->g.get(), c->index);
  calls_[c->parkKey] = c;
  if (c->waitFile && c->waitEvents) watch(c);
  if (c->deadline >= 0) {
    c->timer = timers_.emplace(c->deadline, c);
    c->hasTimer = true;
  }
}

void Reactor::unpark(Call* c) {
  calls_.erase(c->parkKey);
  if (c->hasTimer) {
    timers_.erase(c->timer);
    c->hasTimer = false;
  }
  if (c->waitFile && c->waitEvents) unwatch(c);
}

Call* Reactor::find(const Guest* g, int index) {
  auto it = calls_.find(key(g, index));
  return it == calls_.end() ? nullptr : it->second;
}

void Reactor::watch(Call* c) {
  int fd = c->waitFile->fd;
  Wait& w = waits_[fd];
  if (!w.file) w.file = c->waitFile;
  w.calls.push_back(c);
  c->waitFile->parked++;
  update(fd, w);
}

void Reactor::unwatch(Call* c) {
  int fd = c->waitFile->fd;
  auto it = waits_.find(fd);
  c->waitFile->parked--;
  if (it == waits_.end()) return;
  Wait& w = it->second;
  for (size_t i = 0; i < w.calls.size(); i++) {
    if (w.calls[i] == c) {
      w.calls[i] = w.calls.back();
      w.calls.pop_back();
      break;
    }
  }
  update(fd, w);
}

void Reactor::update(int fd, Wait& w) {
  uint32_t events = 0;
  for (Call* c : w.calls) events |= c->waitEvents;
  if (events == w.registered) {
    if (events == 0) waits_.erase(fd);
    return;
  }
  struct epoll_event e = {};
  e.events = events;
  e.data.u64 = uint64_t(uint32_t(fd));
  if (events == 0) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, &e);
    waits_.erase(fd);
    return;
  }
  int op = w.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(ep_, op, fd, &e) != 0 && op == EPOLL_CTL_ADD && errno == EEXIST) epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &e);
  w.registered = events;
}

int Reactor::retry(Call* c, Sink& sink) {
  unpark(c);
  c->waitFile = nullptr;
  c->waitEvents = 0;
  int64_t r = execute(*c);
  if (r == PARK) {
    park(c);
    return 0;
  }
  sink.finish(c, r);
  return 1;
}

int Reactor::timeoutMs(int cap) const {
  if (timers_.empty()) return cap;
  int64_t left = timers_.begin()->first - monotonicNs();
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return cap >= 0 && ms > cap ? cap : int(ms);
}

int Reactor::poll(int timeoutMs, Sink& sink, bool* woken) {
  struct epoll_event evs[64];
  int n = epoll_wait(ep_, evs, 64, timeoutMs);
  int finished = 0;
  bool closedCheck = false;
  std::vector<Call*> ready;
  const uint64_t mark = ++epoch_;
  auto add = [&](Call* c) {
    if (c->readyMark == mark) return;
    c->readyMark = mark;
    ready.push_back(c);
  };
  for (int i = 0; i < n; i++) {
    if (evs[i].data.u64 == kWakeTag) {
      uint64_t v;
      ssize_t r = ::read(ev_, &v, sizeof v);
      (void)r;
      if (woken) *woken = true;
      closedCheck = true;
      continue;
    }
    auto it = waits_.find(int(evs[i].data.u64));
    if (it == waits_.end()) continue;
    uint32_t got = evs[i].events;
    for (Call* c : it->second.calls)
      if ((c->waitEvents & got) || (got & (EPOLLERR | EPOLLHUP))) add(c);
  }
  if (closedCheck) {
    for (auto& kv : waits_)
      if (kv.second.file->closed.load())
        for (Call* c : kv.second.calls) add(c);
  }
  for (Call* c : ready) finished += retry(c, sink);
  if (!timers_.empty()) {
    int64_t now = monotonicNs();
    while (!timers_.empty() && timers_.begin()->first <= now) finished += retry(timers_.begin()->second, sink);
  }
  return finished;
}

void Reactor::dropGuest(const Guest* g) {
  std::vector<Call*> gone;
  for (auto& kv : calls_)
    if (kv.second->g.get() == g) gone.push_back(kv.second);
  for (Call* c : gone) {
    unpark(c);
    delete c;
  }
}

}  // namespace flexvm
