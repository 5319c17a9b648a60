// A guest's descriptor table: guest descriptor numbers mapped to host descriptors the executor
// opened for that guest. A guest can only name what is in its own table, so it can never reach
// Node's descriptors (its epoll, eventfds, pipes), another guest's, or the host's standard streams.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flexvm {

enum class Kind { Regular, Directory, Socket, Pipe, Epoll, Synthetic, Other };

// One open file description: a host descriptor owned here (closed when the last reference goes:
// the table's, or a call parked on it).
struct File {
  File(int hostFd, Kind k) : fd(hostFd), kind(k) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const int fd;
  const Kind kind;
  // The status flags the guest sees (O_NONBLOCK, O_APPEND, access mode): host sockets and pipes are
  // always non-blocking underneath; whether a call waits is the guest's O_NONBLOCK.
  std::atomic<int> statusFlags{0};
  // Directories: the grant they were reached through (-1: none, synthetic) and their guest path.
  int grant = -1;
  std::vector<std::string> guestPath;
  // Below a read-only grant.
  bool readOnly = false;
  // Synthetic directories (the parents of the grants): their entries, and a getdents position.
  std::vector<std::string> children;
  std::atomic<uint32_t> dirPos{0};
  // Table slots naming it (dup, F_DUPFD); when the last goes it is closed for the guest, and calls
  // parked on it end with EBADF.
  std::atomic<int> slots{0};
  std::atomic<bool> closed{false};
  // Calls parked on it (close must then wake their threads).
  std::atomic<int> parked{0};
};

using FileRef = std::shared_ptr<File>;

class FdTable {
 public:
  explicit FdTable(size_t maxFds) : max_(maxFds) {}

  // Installs `f` at the lowest free number >= minFd; -EMFILE past the limit.
  int install(FileRef f, bool cloexec, int minFd = 0);
  // Installs at exactly `fd` (standard streams at attach).
  bool installAt(int fd, FileRef f);
  FileRef get(int fd);
  bool cloexec(int fd, bool* out);
  bool setCloexec(int fd, bool v);
  FileRef remove(int fd);
  bool hasRoom(size_t n = 1);
  size_t size();
  // Drops every descriptor (the guest is gone).
  std::vector<FileRef> clear();

 private:
  struct Slot {
    FileRef file;
    bool cloexec = false;
  };
  std::mutex mu_;
  std::vector<Slot> slots_;
  size_t open_ = 0;
  size_t firstFree_ = 0;
  const size_t max_;
};

}  // namespace flexvm
