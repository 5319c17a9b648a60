#include "sandbox.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flexvm {

static constexpr size_t kNameMax = 255;

int resolvePath(Guest& g, int dirfd, uint32_t ptr, Resolved& out, bool allowEmpty) {
  int64_t len = g.mem.cstrlen(ptr, FLEXVM_PATH_MAX - 1);
  if (len == -1) return -EFAULT;
  if (len == -2) return -ENAMETOOLONG;
  if (len == 0 && !allowEmpty) return -ENOENT;
  const char* path = reinterpret_cast<const char*>(g.mem.raw(ptr));
  std::vector<std::string> base;
  if (len == 0 || path[0] != '/') {
    if (dirfd != AT_FDCWD) {
      FileRef d = g.fds.get(dirfd);
      if (!d) return -EBADF;
      if (d->kind != Kind::Directory && d->kind != Kind::Synthetic) return -ENOTDIR;
      base = d->guestPath;
    }
  }
  out.guest = base;
  size_t start = 0;
  for (size_t i = 0; i <= size_t(len); i++) {
    if (i == size_t(len) || path[i] == '/') {
      size_t n = i - start;
      if (n > kNameMax) return -ENAMETOOLONG;
      if (n == 1 && path[start] == '.') {
        out.lastDots = 1;
      } else if (n == 2 && path[start] == '.' && path[start + 1] == '.') {
        if (!out.guest.empty()) out.guest.pop_back();
        out.lastDots = 2;
      } else if (n > 0) {
        out.guest.emplace_back(path + start, n);
        out.lastDots = 0;
      }
      start = i + 1;
    }
  }
  out.trailingSlash = len > 1 && path[len - 1] == '/';
  size_t best = 0;
  out.grant = -1;
  for (size_t k = 0; k < g.grants.size(); k++) {
    const auto& gg = g.grants[k].guest;
    if (gg.size() > out.guest.size() || (out.grant >= 0 && gg.size() < best)) continue;
    bool prefix = true;
    for (size_t i = 0; i < gg.size() && prefix; i++) prefix = gg[i] == out.guest[i];
    if (prefix) {
      out.grant = int(k);
      best = gg.size();
    }
  }
  if (out.grant >= 0) {
    out.rest.clear();
    for (size_t i = best; i < out.guest.size(); i++) {
      if (!out.rest.empty()) out.rest += '/';
      out.rest += out.guest[i];
    }
    return 0;
  }
  // Above the grants: a directory if some grant lies below it.
  for (const auto& gr : g.grants) {
    if (gr.guest.size() <= out.guest.size()) continue;
    bool prefix = true;
    for (size_t i = 0; i < out.guest.size() && prefix; i++) prefix = gr.guest[i] == out.guest[i];
    if (!prefix) continue;
    out.synthetic = true;
    const std::string& child = gr.guest[out.guest.size()];
    bool seen = false;
    for (const auto& c : out.children) seen |= c == child;
    if (!seen) out.children.push_back(child);
  }
  return 0;
}

int openBeneath(const Guest& g, const Resolved& r, int flags, unsigned mode) {
  if (r.grant < 0) return -ENOENT;
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = uint64_t(uint32_t(flags | O_CLOEXEC));
  how.mode = (flags & O_CREAT) ? (mode & 07777) : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string p = r.rest.empty() ? "." : r.rest;
  if (r.trailingSlash && !r.rest.empty()) p += '/';
  long fd = syscall(SYS_openat2, g.grants[size_t(r.grant)].dirfd, p.c_str(), &how, sizeof how);
  if (fd < 0) return errno == EXDEV ? -EACCES : -errno;  // EXDEV: it would have left the grant
  return int(fd);
}

int openParent(const Guest& g, const Resolved& r, std::string* name) {
  if (r.grant < 0) return r.synthetic ? -EACCES : -ENOENT;
  if (r.rest.empty()) return -EBUSY;
  size_t slash = r.rest.rfind('/');
  Resolved parent = r;
  parent.trailingSlash = false;
  if (slash == std::string::npos) {
    parent.rest.clear();
    *name = r.rest;
  } else {
    parent.rest = r.rest.substr(0, slash);
    *name = r.rest.substr(slash + 1);
  }
  return openBeneath(g, parent, O_PATH | O_DIRECTORY, 0);
}

void syntheticStat(void* out) {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_mode = S_IFDIR | 0555;
  st.st_nlink = 2;
  st.st_blksize = 4096;
  st.st_ino = 1;
  std::memcpy(out, &st, sizeof st);
}

}  // namespace flexvm
