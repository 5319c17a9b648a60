// The system calls of the ABI, as real Linux system calls on the guest's host descriptors. Only the
// numbers in the table at the end are ever executed (never a passthrough of the guest's number);
// every guest pointer and length is checked against the memory's current length before the host
// kernel sees `base + ptr` (zero copy: read, write, readv, writev, pread, pwrite, sendfile,
// recvfrom, sendto, getdents64 and epoll_wait read or write the guest's memory in place).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "call.h"
#include "sandbox.h"

namespace flexvm {

static_assert(sizeof(struct stat) == FLEXVM_STAT_SIZE, "struct stat is the ABI's");
static_assert(sizeof(struct epoll_event) == FLEXVM_EPOLL_EVENT_SIZE, "epoll_event is packed as the ABI's");
static_assert(sizeof(struct pollfd) == FLEXVM_POLLFD_SIZE, "pollfd is the ABI's");

namespace {

constexpr uint32_t kMaxRw = 0x7ffff000;  // Linux's MAX_RW_COUNT
constexpr int kIovMax = 1024;

int64_t err() { return -int64_t(errno); }

// The description behind argument `slot`, looked up on the first run only (a retry keeps it; a
// close meanwhile makes it EBADF, never another file that took the number).
File* argFile(Call& c, int slot, FileRef& keep) {
  if (!keep) {
    keep = c.g->fds.get(c.a[slot]);
    if (!keep) return nullptr;
  }
  if (keep->closed.load(std::memory_order_relaxed)) return nullptr;
  return keep.get();
}

bool guestNonblocking(const File* f) { return (f->statusFlags.load(std::memory_order_relaxed) & O_NONBLOCK) != 0; }

// A call that found its descriptor not ready: EAGAIN for a non-blocking descriptor, a NOWAIT entry
// or the epoll mode's synchronous import; else it parks until `events`.
int64_t wouldBlock(Call& c, FileRef& f, uint32_t events) {
  if (guestNonblocking(f.get()) || !c.mayPark) return -EAGAIN;
  c.waitFile = f;
  c.waitEvents = events;
  return PARK;
}

bool blocks(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

constexpr int64_t kWriteMore = INT64_MIN + 1;

// One step of a write of `n` bytes that returned `r`. A blocking write answers only once every byte
// is in, as Linux's write on a pipe or a stream socket does: what went out stays in c.moved while it
// parks for room. A non-blocking one (the descriptor's O_NONBLOCK, MSG_DONTWAIT, a NOWAIT entry)
// answers with what fitted; an error after some bytes answers with their count (the next write sees
// it). kWriteMore: room remains, write again.
int64_t writeProgress(Call& c, ssize_t r, uint32_t n, bool dontWait = false) {
  bool mayWait = c.mayPark && !dontWait && !guestNonblocking(c.file.get());
  if (r >= 0) {
    c.moved += r;
    if (uint64_t(c.moved) >= n || r == 0) return c.moved;
    return mayWait ? kWriteMore : c.moved;
  }
  if (!blocks(errno)) return c.moved > 0 ? c.moved : err();
  if (c.moved > 0 && !mayWait) return c.moved;
  if (dontWait) return -EAGAIN;
  return wouldBlock(c, c.file, EPOLLOUT);
}

// ------------------------------------------------------------------ plain I/O

int64_t sysRead(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return -EISDIR;
  uint32_t n = uint32_t(c.a[2]) > kMaxRw ? kMaxRw : uint32_t(c.a[2]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), n);
  if (!p) return -EFAULT;
  ssize_t r = ::read(f->fd, p, n);
  if (r >= 0) return r;
  return blocks(errno) ? wouldBlock(c, c.file, EPOLLIN | EPOLLRDHUP) : err();
}

int64_t sysWrite(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return -EBADF;
  uint32_t n = uint32_t(c.a[2]) > kMaxRw ? kMaxRw : uint32_t(c.a[2]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), n);
  if (!p) return -EFAULT;
  for (;;) {
    ssize_t r = f->kind == Kind::Socket ? ::send(f->fd, p + c.moved, n - c.moved, MSG_NOSIGNAL) : ::write(f->fd, p + c.moved, n - c.moved);
    int64_t done = writeProgress(c, r, n);
    if (done != kWriteMore) return done;
  }
}

// pread/pwrite's common arguments: the descriptor (a Synthetic one answers `synthetic`), the offset
// and the guest buffer, bounded. Returns 0 with `f`, `off`, `p` and `n` set, or -errno.
int64_t positionalArgs(Call& c, int64_t synthetic, File*& f, int64_t& off, uint8_t*& p, uint32_t& n) {
  f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return synthetic;
  off = c.arg64(3);
  if (off < 0) return -EINVAL;
  n = uint32_t(c.a[2]) > kMaxRw ? kMaxRw : uint32_t(c.a[2]);
  p = c.g->mem.at(uint32_t(c.a[1]), n);
  return p ? 0 : -EFAULT;
}

int64_t sysPread(Call& c) {
  File* f;
  int64_t off;
  uint8_t* p;
  uint32_t n;
  if (int64_t e = positionalArgs(c, -EISDIR, f, off, p, n)) return e;
  ssize_t r = ::pread(f->fd, p, n, off);
  return r >= 0 ? r : err();
}

int64_t sysPwrite(Call& c) {
  File* f;
  int64_t off;
  uint8_t* p;
  uint32_t n;
  if (int64_t e = positionalArgs(c, -EBADF, f, off, p, n)) return e;
  ssize_t r = ::pwrite(f->fd, p, n, off);
  return r >= 0 ? r : err();
}

// Translates a wasm32 iovec array (8 bytes each) into host iovecs pointing into guest memory.
int64_t guestIov(Call& c, struct iovec* iov, int* count) {
  int32_t n = c.a[2];
  if (n < 0 || n > kIovMax) return -EINVAL;
  const uint8_t* src = c.g->mem.at(uint32_t(c.a[1]), uint64_t(n) * FLEXVM_IOVEC_SIZE);
  if (!src && n > 0) return -EFAULT;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    uint32_t base, len;
    std::memcpy(&base, src + i * 8 + FLEXVM_IOVEC_IOV_BASE, 4);
    std::memcpy(&len, src + i * 8 + FLEXVM_IOVEC_IOV_LEN, 4);
    if (len > kMaxRw) return -EINVAL;
    total += len;
    if (total > kMaxRw) return -EINVAL;
    uint8_t* p = c.g->mem.at(base, len);
    if (!p) return -EFAULT;
    iov[i].iov_base = p;
    iov[i].iov_len = len;
  }
  *count = n;
  return 0;
}

int64_t sysReadv(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return -EISDIR;
  struct iovec iov[kIovMax];
  int n = 0;
  int64_t e = guestIov(c, iov, &n);
  if (e < 0) return e;
  ssize_t r = ::readv(f->fd, iov, n);
  if (r >= 0) return r;
  return blocks(errno) ? wouldBlock(c, c.file, EPOLLIN | EPOLLRDHUP) : err();
}

int64_t sysWritev(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return -EBADF;
  struct iovec iov[kIovMax];
  int n = 0;
  int64_t e = guestIov(c, iov, &n);
  if (e < 0) return e;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  // A blocking writev moves every byte, as Linux's does on a pipe or stream socket: after a short
  // count it goes on from where it stopped (c.moved), parking while there is no room.
  for (;;) {
    struct iovec rest[kIovMax];
    int k = 0;
    uint64_t skip = uint64_t(c.moved);
    for (int i = 0; i < n; i++) {
      if (skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        continue;
      }
      rest[k].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + skip;
      rest[k].iov_len = iov[i].iov_len - skip;
      skip = 0;
      k++;
    }
    ssize_t r;
    if (f->kind == Kind::Socket) {
      struct msghdr m;
      std::memset(&m, 0, sizeof m);
      m.msg_iov = rest;
      m.msg_iovlen = size_t(k);
      r = ::sendmsg(f->fd, &m, MSG_NOSIGNAL);
    } else {
      r = ::writev(f->fd, rest, k);
    }
    int64_t done = writeProgress(c, r, uint32_t(total));
    if (done != kWriteMore) return done;
  }
}

int64_t sysClose(Call& c) {
  FileRef f = c.g->fds.remove(c.a[0]);
  if (!f) return -EBADF;
  // The last descriptor for it is gone (FdTable::remove marked it closed): calls parked on it, on
  // any thread, end with EBADF; every reactor must look.
  if (f->closed.load() && f->parked.load() > 0) c.pokeAll = true;
  return 0;
}

int64_t sysLseek(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return -EINVAL;
  off_t r = ::lseek(f->fd, off_t(c.arg64(1)), c.a[3]);
  return r >= 0 ? int64_t(r) : err();
}

int64_t sysFstat(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), sizeof(struct stat));
  if (!p) return -EFAULT;
  if (f->kind == Kind::Synthetic) {
    syntheticStat(p);
    return 0;
  }
  struct stat st;
  if (::fstat(f->fd, &st) != 0) return err();
  std::memcpy(p, &st, sizeof st);
  return 0;
}

int64_t sysFsync(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind == Kind::Synthetic) return 0;
  int r = c.sysno == FLEXVM_SYS_fsync ? ::fsync(f->fd) : ::fdatasync(f->fd);
  return r == 0 ? 0 : err();
}

int64_t sysFtruncate(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  if (f->kind != Kind::Regular) return -EINVAL;
  if (f->readOnly) return -EROFS;
  int64_t len = c.arg64(1);
  if (len < 0) return -EINVAL;
  return ::ftruncate(f->fd, len) == 0 ? 0 : err();
}

int64_t sysFcntl(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  int fd = c.a[0];
  switch (c.a[1]) {
    case F_GETFD: {
      bool ce = false;
      if (!c.g->fds.cloexec(fd, &ce)) return -EBADF;
      return ce ? FD_CLOEXEC : 0;
    }
    case F_SETFD:
      return c.g->fds.setCloexec(fd, (c.a[2] & FD_CLOEXEC) != 0) ? 0 : -EBADF;
    case F_GETFL:
      return f->statusFlags.load();
    case F_SETFL: {
      int keep = f->statusFlags.load() & ~(O_NONBLOCK | O_APPEND);
      int want = c.a[2] & (O_NONBLOCK | O_APPEND);
      if (f->kind == Kind::Regular && ((want ^ f->statusFlags.load()) & O_APPEND)) {
        int hostFlags = ::fcntl(f->fd, F_GETFL);
        if (hostFlags < 0 || ::fcntl(f->fd, F_SETFL, (hostFlags & ~O_APPEND) | (want & O_APPEND)) != 0) return err();
      }
      f->statusFlags = keep | want;
      return 0;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      if (c.a[2] < 0 || uint32_t(c.a[2]) >= c.g->limits.maxFds + 1024u) return -EINVAL;
      return c.g->fds.install(c.file, c.a[1] == F_DUPFD_CLOEXEC, c.a[2]);
    }
    default:
      return -EINVAL;
  }
}

// ------------------------------------------------------------------ time

int64_t readTimespec(Call& c, uint32_t ptr, int64_t* ns) {
  int64_t ts[2];
  if (!c.g->mem.copyIn(ts, ptr, 16)) return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return -EINVAL;
  *ns = ts[0] > INT64_MAX / 1000000000 - 1 ? INT64_MAX / 2 : ts[0] * 1000000000 + ts[1];
  return 0;
}

int64_t sleepUntil(Call& c) {
  if (monotonicNs() >= c.deadline) return 0;
  if (!c.mayPark) return -EAGAIN;
  return PARK;
}

int64_t sysNanosleep(Call& c) {
  if (c.stage == 0) {
    int64_t ns;
    int64_t e = readTimespec(c, uint32_t(c.a[0]), &ns);
    if (e < 0) return e;
    c.deadline = monotonicNs() + ns;
    if (c.deadline < 0) c.deadline = INT64_MAX / 2;
    c.stage = 1;
  }
  return sleepUntil(c);
}

int64_t sysClockNanosleep(Call& c) {
  if (c.stage == 0) {
    int clock = c.a[0];
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME) return -EINVAL;
    if (c.a[1] & ~TIMER_ABSTIME) return -EINVAL;
    int64_t ns;
    int64_t e = readTimespec(c, uint32_t(c.a[2]), &ns);
    if (e < 0) return e;
    int64_t now = monotonicNs();
    if (c.a[1] & TIMER_ABSTIME) {
      struct timespec ts;
      clock_gettime(clock, &ts);
      int64_t clockNow = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      // A deadline already past answers at once (its distance is negative, never an overflow).
      int64_t left = ns - clockNow;
      c.deadline = left <= 0 ? now : now + left;
    } else {
      c.deadline = now + ns;
    }
    if (c.deadline < now) c.deadline = INT64_MAX / 2;  // overflowed: as good as forever
    c.stage = 1;
  }
  return sleepUntil(c);
}

int64_t sysClockGettime(Call& c) {
  int clock = c.a[0];
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      break;
    default:
      return -EINVAL;
  }
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), 16);
  if (!p) return -EFAULT;
  struct timespec ts;
  clock_gettime(clock, &ts);
  int64_t out[2] = {int64_t(ts.tv_sec), int64_t(ts.tv_nsec)};
  std::memcpy(p, out, 16);
  return 0;
}

int64_t sysGetpid(Call& c) { return c.g->pid; }

int64_t sysGetrandom(Call& c) {
  if (c.a[2] & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return -EINVAL;
  uint32_t n = uint32_t(c.a[1]) > 33554431u ? 33554431u : uint32_t(c.a[1]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[0]), n);
  if (!p) return -EFAULT;
  ssize_t r = ::getrandom(p, n, unsigned(c.a[2]));
  return r >= 0 ? r : err();
}

// ------------------------------------------------------------------ descriptors

int installNew(Call& c, int hostFd, Kind kind, int statusFlags, bool cloexec) {
  auto f = std::make_shared<File>(hostFd, kind);
  f->statusFlags = statusFlags;
  return c.g->fds.install(std::move(f), cloexec);
}

int64_t sysPipe2(Call& c) {
  if (c.a[1] & ~(O_NONBLOCK | O_CLOEXEC)) return -EINVAL;
  uint8_t* p = c.g->mem.at(uint32_t(c.a[0]), 8);
  if (!p) return -EFAULT;
  if (!c.g->fds.hasRoom(2)) return -EMFILE;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return err();
  int nb = c.a[1] & O_NONBLOCK;
  bool ce = (c.a[1] & O_CLOEXEC) != 0;
  int r = installNew(c, fds[0], Kind::Pipe, O_RDONLY | nb, ce);
  if (r < 0) {
    ::close(fds[1]);
    return r;
  }
  int w = installNew(c, fds[1], Kind::Pipe, O_WRONLY | nb, ce);
  if (w < 0) {
    c.g->fds.remove(r);
    return w;
  }
  int32_t out[2] = {r, w};
  std::memcpy(p, out, 8);
  return 0;
}

int64_t sysEpollCreate1(Call& c) {
  if (c.a[0] & ~EPOLL_CLOEXEC) return -EINVAL;
  if (!c.g->fds.hasRoom()) return -EMFILE;
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return err();
  return installNew(c, fd, Kind::Epoll, O_RDWR, (c.a[0] & EPOLL_CLOEXEC) != 0);
}

int64_t sysEpollCtl(Call& c) {
  File* ep = argFile(c, 0, c.file);
  if (!ep) return -EBADF;
  File* target = argFile(c, 2, c.file2);
  if (!target) return -EBADF;
  if (ep->kind != Kind::Epoll) return -EINVAL;
  if (target->kind == Kind::Regular || target->kind == Kind::Directory || target->kind == Kind::Synthetic) return -EPERM;
  struct epoll_event ev;
  std::memset(&ev, 0, sizeof ev);
  int op = c.a[1];
  if (op != EPOLL_CTL_DEL) {
    if (!c.g->mem.copyIn(&ev, uint32_t(c.a[3]), sizeof ev)) return -EFAULT;
    ev.events &= EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLEXCLUSIVE | EPOLLONESHOT | EPOLLET |
                 EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND;
  }
  return ::epoll_ctl(ep->fd, op, target->fd, &ev) == 0 ? 0 : err();
}

int64_t sysEpollWait(Call& c) {
  File* ep = argFile(c, 0, c.file);
  if (!ep) return -EBADF;
  if (ep->kind != Kind::Epoll) return -EINVAL;
  int32_t max = c.a[2];
  if (max <= 0 || max > INT_MAX / int32_t(sizeof(struct epoll_event))) return -EINVAL;
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), uint64_t(max) * sizeof(struct epoll_event));
  if (!p) return -EFAULT;
  int n = ::epoll_wait(ep->fd, reinterpret_cast<struct epoll_event*>(p), max, 0);
  if (n != 0) return n > 0 ? n : err();
  int32_t timeout = c.a[3];
  if (timeout == 0) return 0;
  if (c.stage == 0) {
    c.stage = 1;
    if (timeout > 0) c.deadline = monotonicNs() + int64_t(timeout) * 1000000;
  } else if (c.deadline >= 0 && monotonicNs() >= c.deadline) {
    return 0;
  }
  if (!c.mayPark) return -EAGAIN;
  c.waitFile = c.file;
  c.waitEvents = EPOLLIN;
  return PARK;
}

int64_t sysPoll(Call& c) {
  uint32_t nfds = uint32_t(c.a[1]);
  if (nfds > c.g->limits.maxFds) return -EINVAL;  // Linux: more than RLIMIT_NOFILE, the guest's maxFds
  uint8_t* p = c.g->mem.at(uint32_t(c.a[0]), uint64_t(nfds) * sizeof(struct pollfd));
  if (!p && nfds) return -EFAULT;
  std::vector<struct pollfd> host(nfds);
  std::vector<FileRef> files(nfds);
  for (uint32_t i = 0; i < nfds; i++) {
    struct pollfd q;
    std::memcpy(&q, p + i * sizeof q, sizeof q);
    host[i].fd = -1;
    host[i].events = q.events;
    if (q.fd < 0) continue;
    files[i] = c.g->fds.get(q.fd);
    if (!files[i] || files[i]->closed) continue;
    host[i].fd = files[i]->kind == Kind::Synthetic ? -1 : files[i]->fd;
  }
  int n = nfds ? ::poll(host.data(), nfds, 0) : 0;
  if (n < 0) return err();
  int ready = 0;
  for (uint32_t i = 0; i < nfds; i++) {
    struct pollfd q;
    std::memcpy(&q, p + i * sizeof q, sizeof q);
    short rev = host[i].revents;
    if (q.fd >= 0 && !files[i]) rev = POLLNVAL;
    else if (q.fd >= 0 && files[i]->kind == Kind::Synthetic) rev = short(q.events & (POLLIN | POLLOUT));
    if (rev) ready++;
    q.revents = rev;
    std::memcpy(p + i * sizeof q, &q, sizeof q);
  }
  int32_t timeout = c.a[2];
  if (ready > 0 || timeout == 0) return ready;
  if (c.stage == 0) {
    c.stage = 1;
    if (timeout > 0) c.deadline = monotonicNs() + int64_t(timeout) * 1000000;
  } else if (c.deadline >= 0 && monotonicNs() >= c.deadline) {
    return 0;
  }
  if (!c.mayPark) return -EAGAIN;
  if (nfds == 0) return PARK;  // only a deadline (or forever) to wait for
  // Wait on all of them at once: a private epoll set holding each descriptor, itself watched by the
  // thread's readiness loop.
  if (!c.file2) {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return err();
    c.file2 = std::make_shared<File>(ep, Kind::Epoll);
    for (uint32_t i = 0; i < nfds; i++) {
      if (host[i].fd < 0) continue;
      struct epoll_event ev;
      std::memset(&ev, 0, sizeof ev);
      ev.events = uint32_t(uint16_t(host[i].events)) & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, host[i].fd, &ev);
    }
  }
  c.waitFile = c.file2;
  c.waitEvents = EPOLLIN;
  return PARK;
}

// ------------------------------------------------------------------ sockets

int64_t sysSocket(Call& c) {
  int domain = c.a[0], type = c.a[1], proto = c.a[2];
  // Linux: flags beyond the type's low bits other than these two are EINVAL, before the family.
  if ((type & ~0xf) & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  // Linux: a type past SOCK_MAX (SOCK_PACKET + 1) is EINVAL, before the family is looked up.
  if (base > SOCK_PACKET) return -EINVAL;
  if (domain != AF_INET) return -EAFNOSUPPORT;
  if (base != SOCK_STREAM || (proto != 0 && proto != IPPROTO_TCP)) return -EPROTONOSUPPORT;
  if (!c.g->fds.hasRoom()) return -EMFILE;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return err();
  return installNew(c, fd, Kind::Socket, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0), (flags & SOCK_CLOEXEC) != 0);
}

File* argSocket(Call& c, int slot, int64_t* e) {
  File* f = argFile(c, slot, c.file);
  if (!f) {
    *e = -EBADF;
    return nullptr;
  }
  if (f->kind != Kind::Socket) {
    *e = -ENOTSOCK;
    return nullptr;
  }
  return f;
}

// An IPv4 address from the guest: -errno when short or of another family.
int64_t readInet(Call& c, uint32_t ptr, uint32_t len, struct sockaddr_in* out, bool allowUnspec) {
  if (len < 2) return -EINVAL;
  uint16_t family;
  if (!c.g->mem.copyIn(&family, ptr, 2)) return -EFAULT;
  if (len < sizeof(struct sockaddr_in)) return family == AF_INET ? -EINVAL : -EAFNOSUPPORT;
  if (!c.g->mem.copyIn(out, ptr, sizeof *out)) return -EFAULT;
  if (out->sin_family == AF_UNSPEC && allowUnspec && out->sin_addr.s_addr == 0) out->sin_family = AF_INET;
  if (out->sin_family != AF_INET) return -EAFNOSUPPORT;
  return 0;
}

// Writes a host address back as getsockname(2) does: truncated to the guest's room, full length reported.
int64_t writeAddr(Call& c, uint32_t addrPtr, uint32_t lenPtr, const struct sockaddr_storage& ss, socklen_t len) {
  int32_t room;
  if (!c.g->mem.read32(lenPtr, &room)) return -EFAULT;
  if (room < 0) return -EINVAL;
  uint32_t n = uint32_t(room) < len ? uint32_t(room) : len;
  if (!c.g->mem.copyOut(addrPtr, &ss, n)) return -EFAULT;
  if (!c.g->mem.write32(lenPtr, int32_t(len))) return -EFAULT;
  return 0;
}

int64_t sysBind(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  struct sockaddr_in a;
  e = readInet(c, uint32_t(c.a[1]), uint32_t(c.a[2]), &a, true);
  if (e < 0) return e;
  uint32_t addr = ntohl(a.sin_addr.s_addr);
  if (!c.g->listenAny) {
    // Reachable from this machine only unless the embedder opts in.
    if (addr == INADDR_ANY) a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if ((addr >> 24) != 127) return -EACCES;
  }
  return ::bind(f->fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0 ? 0 : err();
}

int64_t sysListen(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  return ::listen(f->fd, c.a[1]) == 0 ? 0 : err();
}

int64_t sysConnect(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  if (c.stage == 0) {
    struct sockaddr_in a;
    e = readInet(c, uint32_t(c.a[1]), uint32_t(c.a[2]), &a, false);
    if (e < 0) return e;
    if (!c.g->connectAllowed(ntohl(a.sin_addr.s_addr), ntohs(a.sin_port))) return -EACCES;
    if (::connect(f->fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0) return 0;
    if (errno != EINPROGRESS) return err();
    if (guestNonblocking(f) || !c.mayPark) return -EINPROGRESS;
    c.stage = 1;
  } else {
    // connect() again finishes it as Linux sees it (the socket becomes connected, so that a later
    // connect is EISCONN), or says it is still in progress, or reports how it failed.
    struct sockaddr_in a;
    e = readInet(c, uint32_t(c.a[1]), uint32_t(c.a[2]), &a, false);
    if (e < 0) return e;
    if (::connect(f->fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0 || errno == EISCONN) return 0;
    if (errno != EALREADY && errno != EINPROGRESS) return err();
  }
  c.waitFile = c.file;
  c.waitEvents = EPOLLOUT;
  return PARK;
}

int64_t sysAccept4(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  int flags = c.a[3];
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  if (!c.g->fds.hasRoom()) return -EMFILE;
  // The address buffer is checked before a connection is taken: a bad one must not lose it.
  if (c.a[1] != 0) {
    int32_t room;
    if (!c.g->mem.read32(uint32_t(c.a[2]), &room)) return -EFAULT;
    if (room < 0) return -EINVAL;
    if (!c.g->mem.fits(uint32_t(c.a[1]), uint32_t(room))) return -EFAULT;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd = ::accept4(f->fd, reinterpret_cast<struct sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return blocks(errno) ? wouldBlock(c, c.file, EPOLLIN) : err();
  int gfd = installNew(c, fd, Kind::Socket, O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0), (flags & SOCK_CLOEXEC) != 0);
  if (gfd < 0) return gfd;
  if (c.a[1] != 0) {
    e = writeAddr(c, uint32_t(c.a[1]), uint32_t(c.a[2]), ss, len);
    if (e < 0) {
      c.g->fds.remove(gfd);
      return e;
    }
  }
  return gfd;
}

int64_t sysSendto(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  uint32_t n = uint32_t(c.a[2]) > kMaxRw ? kMaxRw : uint32_t(c.a[2]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), n);
  if (!p) return -EFAULT;
  int flags = c.a[3] & (MSG_DONTWAIT | MSG_MORE | MSG_OOB | MSG_EOR);
  for (;;) {
    ssize_t r = ::send(f->fd, p + c.moved, n - c.moved, flags | MSG_NOSIGNAL | MSG_DONTWAIT);
    int64_t done = writeProgress(c, r, n, (c.a[3] & MSG_DONTWAIT) != 0);
    if (done != kWriteMore) return done;
  }
}

int64_t sysRecvfrom(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  uint32_t n = uint32_t(c.a[2]) > kMaxRw ? kMaxRw : uint32_t(c.a[2]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), n);
  if (!p) return -EFAULT;
  int flags = c.a[3] & (MSG_DONTWAIT | MSG_PEEK | MSG_OOB | MSG_TRUNC | MSG_WAITALL);
  // MSG_WAITALL: a blocking read waits for the whole buffer (or end of file, or an error); what
  // arrived stays in c.moved while it parks.
  bool waitAll = (flags & MSG_WAITALL) && !(flags & (MSG_PEEK | MSG_DONTWAIT)) && c.mayPark && !guestNonblocking(f);
  for (;;) {
    ssize_t r = ::recv(f->fd, p + c.moved, n - uint32_t(c.moved), (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
    if (r > 0) {
      c.moved += r;
      if (waitAll && uint64_t(c.moved) < n) continue;
      break;
    }
    if (r == 0) break;  // end of file: what arrived
    if (c.moved > 0 && !(waitAll && blocks(errno))) break;  // an error after some bytes: their count
    if (blocks(errno) && !(c.a[3] & MSG_DONTWAIT)) return wouldBlock(c, c.file, EPOLLIN | EPOLLRDHUP);
    return err();
  }
  // A connected stream socket reports no source address.
  if (c.a[4] != 0 && c.a[5] != 0 && !c.g->mem.write32(uint32_t(c.a[5]), 0)) return -EFAULT;
  return c.moved;
}

int64_t sysShutdown(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  return ::shutdown(f->fd, c.a[1]) == 0 ? 0 : err();
}

int64_t sysSockName(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  struct sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  socklen_t len = sizeof ss;
  int r = c.sysno == FLEXVM_SYS_getsockname ? ::getsockname(f->fd, reinterpret_cast<struct sockaddr*>(&ss), &len)
                                            : ::getpeername(f->fd, reinterpret_cast<struct sockaddr*>(&ss), &len);
  if (r != 0) return err();
  return writeAddr(c, uint32_t(c.a[1]), uint32_t(c.a[2]), ss, len);
}

// The options both other kernels offer; anything else is ENOPROTOOPT rather than a passthrough.
bool knownOption(int level, int name, bool get) {
  if (level == IPPROTO_TCP) return name == TCP_NODELAY;
  if (level != SOL_SOCKET) return false;
  switch (name) {
    case SO_REUSEADDR:
    case SO_KEEPALIVE:
    case SO_SNDBUF:
    case SO_RCVBUF:
      return true;
    case SO_TYPE:
    case SO_ERROR:
    case SO_ACCEPTCONN:
      return get;
    default:
      return false;
  }
}

int64_t sysSetsockopt(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  if (!knownOption(c.a[1], c.a[2], false)) return -ENOPROTOOPT;
  if (c.a[4] < 4) return -EINVAL;
  int32_t v;
  if (!c.g->mem.read32(uint32_t(c.a[3]), &v)) return -EFAULT;
  return ::setsockopt(f->fd, c.a[1], c.a[2], &v, sizeof v) == 0 ? 0 : err();
}

int64_t sysGetsockopt(Call& c) {
  int64_t e = 0;
  File* f = argSocket(c, 0, &e);
  if (!f) return e;
  int32_t room;
  if (!c.g->mem.read32(uint32_t(c.a[4]), &room)) return -EFAULT;
  if (room < 0) return -EINVAL;
  if (!knownOption(c.a[1], c.a[2], true)) return -ENOPROTOOPT;
  int32_t v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(f->fd, c.a[1], c.a[2], &v, &len) != 0) return err();
  uint32_t n = uint32_t(room) < len ? uint32_t(room) : len;
  if (!c.g->mem.copyOut(uint32_t(c.a[3]), &v, n)) return -EFAULT;
  if (!c.g->mem.write32(uint32_t(c.a[4]), int32_t(n))) return -EFAULT;
  return 0;
}

int64_t sysSendfile(Call& c) {
  int64_t e = 0;
  File* out = argFile(c, 0, c.file);
  if (!out) return -EBADF;
  File* in = argFile(c, 1, c.file2);
  if (!in) return -EBADF;
  (void)e;
  uint32_t offPtr = uint32_t(c.a[2]);
  uint32_t n = uint32_t(c.a[3]) > kMaxRw ? kMaxRw : uint32_t(c.a[3]);
  ssize_t r;
  if (offPtr != 0) {
    int64_t off;
    if (!c.g->mem.read64(offPtr, &off)) return -EFAULT;
    if (off < 0) return -EINVAL;
    off_t o = off;
    r = ::sendfile(out->fd, in->fd, &o, n);
    if (r >= 0 && !c.g->mem.write64(offPtr, o)) return -EFAULT;
  } else {
    r = ::sendfile(out->fd, in->fd, nullptr, n);
  }
  if (r >= 0) return r;
  return blocks(errno) ? wouldBlock(c, c.file, EPOLLOUT) : err();
}

// ------------------------------------------------------------------ paths

constexpr int kOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DIRECTORY |
                           O_NOFOLLOW | O_CLOEXEC | O_DSYNC | O_SYNC | O_LARGEFILE;

int64_t sysOpenat(Call& c) {
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r);
  if (e < 0) return e;
  int flags = c.a[2] & kOpenFlags;
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (!c.g->fds.hasRoom()) return -EMFILE;
  if (r.grant < 0) {
    if (!r.synthetic) return (flags & O_CREAT) ? -EACCES : -ENOENT;
    if ((flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
    if (writes) return -EISDIR;
    auto f = std::make_shared<File>(-1, Kind::Synthetic);
    f->guestPath = r.guest;
    f->children = r.children;
    f->statusFlags = O_RDONLY | O_DIRECTORY | (flags & O_NONBLOCK);
    return c.g->fds.install(std::move(f), (flags & O_CLOEXEC) != 0);
  }
  const Grant& grant = c.g->grants[size_t(r.grant)];
  if (grant.readOnly && (writes || (flags & O_CREAT))) {
    // Looked up first, as Linux does: a missing name without O_CREAT is ENOENT, not EROFS.
    int probe = openBeneath(*c.g, r, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
    if (probe >= 0) {
      ::close(probe);
      if ((flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
      if (writes) return -EROFS;
      flags &= ~O_CREAT;
    } else if (probe != -ENOENT || !(flags & O_CREAT)) {
      return probe;
    } else {
      return -EROFS;
    }
  }
  // --strict-links: the link count is looked at on the opened file itself, so a truncation waits
  // until then (a file truncated by the open could not be given back).
  bool truncateAfter = c.g->strictLinks && writes && (flags & O_TRUNC);
  int hostFlags = truncateAfter ? flags & ~O_TRUNC : flags;
  // Host descriptors never block the executor: FIFOs are opened non-blocking (the guest's flag is kept apart).
  int fd = openBeneath(*c.g, r, (hostFlags & ~O_CLOEXEC) | O_NONBLOCK, unsigned(c.a[3]));
  if (fd < 0) return fd;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e2 = errno;
    ::close(fd);
    return -e2;
  }
  if ((c.g->strictLinks && writes && S_ISREG(st.st_mode) && st.st_nlink > 1) || (truncateAfter && S_ISDIR(st.st_mode))) {
    ::close(fd);
    return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;  // O_TRUNC on a directory is EISDIR, as the open would say
  }
  if (truncateAfter && S_ISREG(st.st_mode) && ::ftruncate(fd, 0) != 0) {
    int e2 = errno;
    ::close(fd);
    return -e2;
  }
  Kind kind = S_ISDIR(st.st_mode) ? Kind::Directory : S_ISREG(st.st_mode) ? Kind::Regular : S_ISFIFO(st.st_mode) ? Kind::Pipe : Kind::Other;
  if (kind == Kind::Regular || kind == Kind::Directory) {
    // Regular files and directories are read in place: clear O_NONBLOCK on the host side. F_SETFL
    // only changes the flags it may (append, async, direct, noatime, nonblock), all known from the
    // open: no F_GETFL first (one system call less per open: an httpd opens a file per request).
    ::fcntl(fd, F_SETFL, (flags & ~(O_CLOEXEC | O_NONBLOCK)));
  }
  auto f = std::make_shared<File>(fd, kind);
  f->statusFlags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  f->readOnly = grant.readOnly;
  if (kind == Kind::Directory) {
    f->grant = r.grant;
    f->guestPath = r.guest;
  }
  return c.g->fds.install(std::move(f), (flags & O_CLOEXEC) != 0);
}

int64_t sysNewfstatat(Call& c) {
  int flags = c.a[3];
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return -EINVAL;
  uint8_t* out = c.g->mem.at(uint32_t(c.a[2]), sizeof(struct stat));
  if (!out) return -EFAULT;
  int64_t len = c.g->mem.cstrlen(uint32_t(c.a[1]), FLEXVM_PATH_MAX - 1);
  if (len == -1) return -EFAULT;
  if (len == 0 && (flags & AT_EMPTY_PATH) && c.a[0] != AT_FDCWD) {
    File* f = argFile(c, 0, c.file);
    if (!f) return -EBADF;
    if (f->kind == Kind::Synthetic) {
      syntheticStat(out);
      return 0;
    }
    struct stat st;
    if (::fstat(f->fd, &st) != 0) return err();
    std::memcpy(out, &st, sizeof st);
    return 0;
  }
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r, (flags & AT_EMPTY_PATH) != 0);
  if (e < 0) return e;
  if (r.grant < 0) {
    if (!r.synthetic) return -ENOENT;
    syntheticStat(out);
    return 0;
  }
  struct stat st;
  if ((flags & AT_SYMLINK_NOFOLLOW) && !r.rest.empty()) {
    std::string name;
    int dir = openParent(*c.g, r, &name);
    if (dir < 0) return dir;
    int rr = ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    int e2 = errno;
    ::close(dir);
    if (rr != 0) return -e2;
  } else {
    int fd = openBeneath(*c.g, r, O_PATH, 0);
    if (fd < 0) return fd;
    int rr = ::fstat(fd, &st);
    int e2 = errno;
    ::close(fd);
    if (rr != 0) return -e2;
  }
  std::memcpy(out, &st, sizeof st);
  return 0;
}

// Lookup of a name that must exist (for the read-only and grant-root answers).
bool exists(const Guest& g, const Resolved& r) {
  int fd = openBeneath(g, r, O_PATH | O_NOFOLLOW, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

int64_t sysMkdirat(Call& c) {
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r);
  if (e < 0) return e;
  if (r.grant < 0) return r.synthetic ? -EEXIST : -EACCES;
  if (r.rest.empty()) return -EEXIST;
  const Grant& grant = c.g->grants[size_t(r.grant)];
  if (grant.readOnly) return exists(*c.g, r) ? -EEXIST : -EROFS;
  std::string name;
  int dir = openParent(*c.g, r, &name);
  if (dir < 0) return dir;
  int rr = ::mkdirat(dir, name.c_str(), mode_t(c.a[2]) & 07777);
  int e2 = errno;
  ::close(dir);
  return rr == 0 ? 0 : -e2;
}

// Whether `name` in `dir` is a directory (not following a final symlink); true when it is missing,
// which the call itself then reports.
bool isDirAt(int dir, const std::string& name) {
  struct stat st;
  return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode);
}

int64_t sysUnlinkat(Call& c) {
  if (c.a[2] & ~AT_REMOVEDIR) return -EINVAL;
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r);
  if (e < 0) return e;
  // Linux: rmdir of "." is EINVAL, of ".." ENOTEMPTY; unlink of either EISDIR.
  if (r.lastDots) return (c.a[2] & AT_REMOVEDIR) ? (r.lastDots == 1 ? -EINVAL : -ENOTEMPTY) : -EISDIR;
  if (r.grant < 0) return r.synthetic ? -EACCES : -ENOENT;
  if (r.rest.empty()) return -EBUSY;
  const Grant& grant = c.g->grants[size_t(r.grant)];
  if (grant.readOnly) return exists(*c.g, r) ? -EROFS : -ENOENT;
  std::string name;
  int dir = openParent(*c.g, r, &name);
  if (dir < 0) return dir;
  if (r.trailingSlash && !(c.a[2] & AT_REMOVEDIR) && !isDirAt(dir, name)) {
    ::close(dir);
    return -ENOTDIR;  // "file/" names a directory that is not there (openParent drops the slash)
  }
  int rr = ::unlinkat(dir, name.c_str(), c.a[2]);
  int e2 = errno;
  ::close(dir);
  return rr == 0 ? 0 : -e2;
}

int64_t sysRenameat(Call& c) {
  Resolved from, to;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), from);
  if (e < 0) return e;
  e = resolvePath(*c.g, c.a[2], uint32_t(c.a[3]), to);
  if (e < 0) return e;
  if (from.lastDots || to.lastDots) return -EBUSY;  // Linux: "." and ".." cannot be renamed or replaced
  if (from.grant < 0) return from.synthetic ? -EACCES : -ENOENT;
  if (from.rest.empty()) return -EBUSY;
  if (to.grant < 0) return -EACCES;
  if (to.rest.empty()) return -EBUSY;
  if (from.grant != to.grant) return -EXDEV;
  const Grant& grant = c.g->grants[size_t(from.grant)];
  if (grant.readOnly) return exists(*c.g, from) ? -EROFS : -ENOENT;
  std::string a, b;
  int da = openParent(*c.g, from, &a);
  if (da < 0) return da;
  int db = openParent(*c.g, to, &b);
  if (db < 0) {
    ::close(da);
    return db;
  }
  // A trailing slash on either name says the source is a directory (openParent drops it).
  if ((from.trailingSlash || to.trailingSlash) && !isDirAt(da, a)) {
    ::close(da);
    ::close(db);
    return -ENOTDIR;
  }
  int rr = ::renameat(da, a.c_str(), db, b.c_str());
  int e2 = errno;
  ::close(da);
  ::close(db);
  return rr == 0 ? 0 : -e2;
}

int64_t sysGetdents64(Call& c) {
  File* f = argFile(c, 0, c.file);
  if (!f) return -EBADF;
  uint32_t n = uint32_t(c.a[2]);
  uint8_t* p = c.g->mem.at(uint32_t(c.a[1]), n);
  if (!p) return -EFAULT;
  if (f->kind == Kind::Synthetic) {
    // ".", ".." and the names of the grants below it.
    uint32_t pos = f->dirPos.load();
    uint32_t used = 0;
    size_t total = 2 + f->children.size();
    while (pos < total) {
      std::string name = pos == 0 ? "." : pos == 1 ? ".." : f->children[pos - 2];
      uint32_t reclen = uint32_t((19 + name.size() + 1 + 7) & ~size_t(7));
      if (used + reclen > n) {
        if (used == 0) return -EINVAL;
        break;
      }
      uint8_t* d = p + used;
      std::memset(d, 0, reclen);
      uint64_t ino = pos + 1;
      int64_t off = pos + 1;
      uint16_t rl = uint16_t(reclen);
      std::memcpy(d, &ino, 8);
      std::memcpy(d + 8, &off, 8);
      std::memcpy(d + 16, &rl, 2);
      d[18] = 4;  // DT_DIR
      std::memcpy(d + 19, name.data(), name.size());
      used += reclen;
      pos++;
    }
    f->dirPos = pos;
    return used;
  }
  if (f->kind != Kind::Directory) return -ENOTDIR;
  long r = syscall(SYS_getdents64, f->fd, p, n);
  return r >= 0 ? r : err();
}

// ------------------------------------------------------------------ links and times
// symlinkat, readlinkat, linkat, utimensat: added for WASI's path_symlink, path_readlink, path_link
// and the filestat_set_times functions (owned by the WASI work; kept in this block). The sandbox's
// rules hold: a symlink's target is stored as given and followed only by openat2 beneath the grant,
// a hard link is made only between names of one grant (EXDEV otherwise, as across mounts), and a
// read-only grant answers EROFS (EEXIST first for a taken name, ENOENT for a missing one).

// "/proc/self/fd/N": a name for an O_PATH descriptor that calls without an fd form can follow.
std::string procFd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int64_t sysSymlinkat(Call& c) {
  int64_t tlen = c.g->mem.cstrlen(uint32_t(c.a[0]), FLEXVM_PATH_MAX - 1);
  if (tlen == -1) return -EFAULT;
  if (tlen == -2) return -ENAMETOOLONG;
  if (tlen == 0) return -ENOENT;
  std::string target(reinterpret_cast<const char*>(c.g->mem.at(uint32_t(c.a[0]), uint64_t(tlen))), size_t(tlen));
  Resolved r;
  int e = resolvePath(*c.g, c.a[1], uint32_t(c.a[2]), r);
  if (e < 0) return e;
  if (r.grant < 0) return r.synthetic ? -EEXIST : -EACCES;
  if (r.rest.empty()) return -EEXIST;
  if (c.g->grants[size_t(r.grant)].readOnly) return exists(*c.g, r) ? -EEXIST : -EROFS;
  std::string name;
  int dir = openParent(*c.g, r, &name);
  if (dir < 0) return dir;
  int rr = ::symlinkat(target.c_str(), dir, name.c_str());
  int e2 = errno;
  ::close(dir);
  return rr == 0 ? 0 : -e2;
}

int64_t sysReadlinkat(Call& c) {
  int size = int(c.a[3]);
  if (size <= 0) return -EINVAL;
  uint8_t* out = c.g->mem.at(uint32_t(c.a[2]), uint32_t(size));
  if (!out) return -EFAULT;
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r);
  if (e < 0) return e;
  if (r.grant < 0) return r.synthetic ? -EINVAL : -ENOENT;
  if (r.rest.empty()) return -EINVAL;  // a grant's root: a directory
  std::string name;
  int dir = openParent(*c.g, r, &name);
  if (dir < 0) return dir;
  ssize_t n = ::readlinkat(dir, name.c_str(), reinterpret_cast<char*>(out), size_t(size));
  int e2 = errno;
  ::close(dir);
  return n >= 0 ? n : -e2;
}

int64_t sysLinkat(Call& c) {
  int flags = int(c.a[4]);
  if (flags & ~AT_SYMLINK_FOLLOW) return -EINVAL;
  Resolved from, to;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), from);
  if (e < 0) return e;
  e = resolvePath(*c.g, c.a[2], uint32_t(c.a[3]), to);
  if (e < 0) return e;
  if (from.grant < 0) return from.synthetic ? -EPERM : -ENOENT;
  if (from.rest.empty()) return -EPERM;  // a grant's root: a directory
  if (to.grant < 0) return to.synthetic ? -EEXIST : -EACCES;
  if (to.rest.empty()) return -EEXIST;
  if (c.g->grants[size_t(to.grant)].readOnly) return exists(*c.g, to) ? -EEXIST : -EROFS;
  if (from.grant != to.grant) return -EXDEV;
  std::string b;
  int db = openParent(*c.g, to, &b);
  if (db < 0) return db;
  int rr;
  int e2;
  if (flags & AT_SYMLINK_FOLLOW) {
    // Followed beneath the grant by openat2; the link is made to what it reached.
    int src = openBeneath(*c.g, from, O_PATH, 0);
    if (src < 0) {
      ::close(db);
      return src;
    }
    rr = ::linkat(AT_FDCWD, procFd(src).c_str(), db, b.c_str(), AT_SYMLINK_FOLLOW);
    e2 = errno;
    ::close(src);
  } else {
    std::string a;
    int da = openParent(*c.g, from, &a);
    if (da < 0) {
      ::close(db);
      return da;
    }
    rr = ::linkat(da, a.c_str(), db, b.c_str(), 0);
    e2 = errno;
    ::close(da);
  }
  ::close(db);
  return rr == 0 ? 0 : -e2;
}

int64_t sysUtimensat(Call& c) {
  int flags = int(c.a[3]);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  struct timespec ts[2];
  const struct timespec* times = nullptr;
  if (c.a[2] != 0) {
    if (!c.g->mem.copyIn(ts, uint32_t(c.a[2]), sizeof ts)) return -EFAULT;
    times = ts;
  }
  if (c.a[1] == 0) {
    // The descriptor itself.
    File* f = argFile(c, 0, c.file);
    if (!f) return -EBADF;
    if (f->kind == Kind::Synthetic) return -EACCES;
    if (f->readOnly) return -EROFS;
    return ::futimens(f->fd, times) == 0 ? 0 : err();
  }
  Resolved r;
  int e = resolvePath(*c.g, c.a[0], uint32_t(c.a[1]), r);
  if (e < 0) return e;
  if (r.grant < 0) return r.synthetic ? -EACCES : -ENOENT;
  if (c.g->grants[size_t(r.grant)].readOnly) return exists(*c.g, r) ? -EROFS : -ENOENT;
  int rr;
  int e2;
  if ((flags & AT_SYMLINK_NOFOLLOW) && !r.rest.empty()) {
    std::string name;
    int dir = openParent(*c.g, r, &name);
    if (dir < 0) return dir;
    rr = ::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    e2 = errno;
    ::close(dir);
  } else {
    int fd = openBeneath(*c.g, r, O_PATH, 0);
    if (fd < 0) return fd;
    rr = ::utimensat(AT_FDCWD, procFd(fd).c_str(), times, 0);
    e2 = errno;
    ::close(fd);
  }
  return rr == 0 ? 0 : -e2;
}

// ------------------------------------------------------------------ the table

using Handler = int64_t (*)(Call&);

struct Table {
  Handler h[kSysnoLimit] = {};
  Table() {
    h[FLEXVM_SYS_read] = sysRead;
    h[FLEXVM_SYS_write] = sysWrite;
    h[FLEXVM_SYS_close] = sysClose;
    h[FLEXVM_SYS_fstat] = sysFstat;
    h[FLEXVM_SYS_poll] = sysPoll;
    h[FLEXVM_SYS_lseek] = sysLseek;
    h[FLEXVM_SYS_pread64] = sysPread;
    h[FLEXVM_SYS_pwrite64] = sysPwrite;
    h[FLEXVM_SYS_readv] = sysReadv;
    h[FLEXVM_SYS_writev] = sysWritev;
    h[FLEXVM_SYS_nanosleep] = sysNanosleep;
    h[FLEXVM_SYS_getpid] = sysGetpid;
    h[FLEXVM_SYS_sendfile] = sysSendfile;
    h[FLEXVM_SYS_socket] = sysSocket;
    h[FLEXVM_SYS_connect] = sysConnect;
    h[FLEXVM_SYS_sendto] = sysSendto;
    h[FLEXVM_SYS_recvfrom] = sysRecvfrom;
    h[FLEXVM_SYS_shutdown] = sysShutdown;
    h[FLEXVM_SYS_bind] = sysBind;
    h[FLEXVM_SYS_listen] = sysListen;
    h[FLEXVM_SYS_getsockname] = sysSockName;
    h[FLEXVM_SYS_getpeername] = sysSockName;
    h[FLEXVM_SYS_setsockopt] = sysSetsockopt;
    h[FLEXVM_SYS_getsockopt] = sysGetsockopt;
    h[FLEXVM_SYS_fcntl] = sysFcntl;
    h[FLEXVM_SYS_fsync] = sysFsync;
    h[FLEXVM_SYS_fdatasync] = sysFsync;
    h[FLEXVM_SYS_ftruncate] = sysFtruncate;
    h[FLEXVM_SYS_getdents64] = sysGetdents64;
    h[FLEXVM_SYS_clock_gettime] = sysClockGettime;
    h[FLEXVM_SYS_clock_nanosleep] = sysClockNanosleep;
    h[FLEXVM_SYS_epoll_wait] = sysEpollWait;
    h[FLEXVM_SYS_epoll_ctl] = sysEpollCtl;
    h[FLEXVM_SYS_openat] = sysOpenat;
    h[FLEXVM_SYS_mkdirat] = sysMkdirat;
    h[FLEXVM_SYS_newfstatat] = sysNewfstatat;
    h[FLEXVM_SYS_unlinkat] = sysUnlinkat;
    h[FLEXVM_SYS_renameat] = sysRenameat;
    h[FLEXVM_SYS_accept4] = sysAccept4;
    h[FLEXVM_SYS_epoll_create1] = sysEpollCreate1;
    h[FLEXVM_SYS_pipe2] = sysPipe2;
    h[FLEXVM_SYS_getrandom] = sysGetrandom;
    h[FLEXVM_SYS_linkat] = sysLinkat;
    h[FLEXVM_SYS_symlinkat] = sysSymlinkat;
    h[FLEXVM_SYS_readlinkat] = sysReadlinkat;
    h[FLEXVM_SYS_utimensat] = sysUtimensat;
  }
};

const Table kTable;

}  // namespace

void interrupted(Call& c) {
  // A relative sleep stores the time it had left, as Linux's does when a signal interrupts it.
  uint32_t rem = c.sysno == FLEXVM_SYS_nanosleep ? uint32_t(c.a[1]) : c.sysno == FLEXVM_SYS_clock_nanosleep && !(c.a[1] & TIMER_ABSTIME) ? uint32_t(c.a[3]) : 0;
  if (rem != 0 && c.stage == 1 && c.deadline >= 0) {
    int64_t left = c.deadline - monotonicNs();
    if (left < 0) left = 0;
    int64_t ts[2] = {left / 1000000000, left % 1000000000};
    c.g->mem.copyOut(rem, ts, sizeof ts);
  }
  // A connect in progress is abandoned (AF_UNSPEC dissolves the association): the socket is as it
  // was and may connect again.
  if (c.sysno == FLEXVM_SYS_connect && c.stage == 1 && c.file && !c.file->closed.load()) {
    struct sockaddr unspec;
    std::memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    ::connect(c.file->fd, &unspec, sizeof unspec);
  }
}

bool implemented(int32_t sysno) { return sysno >= 0 && sysno < kSysnoLimit && kTable.h[sysno] != nullptr; }

int64_t execute(Call& c) {
  if (!implemented(c.sysno)) return -ENOSYS;
  return kTable.h[c.sysno](c);
}

}  // namespace flexvm
