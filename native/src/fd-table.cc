#include "fd-table.h"

#include <unistd.h>

#include <cerrno>

namespace flexvm {

File::~File() {
  if (fd >= 0) ::close(fd);
}

int FdTable::install(FileRef f, bool cloexec, int minFd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ >= max_) return -EMFILE;
  size_t i = minFd > 0 ? size_t(minFd) : 0;
  if (i < firstFree_) i = firstFree_;
  while (i < slots_.size() && slots_[i].file) i++;
  if (i >= (1u << 30)) return -EMFILE;
  if (i >= slots_.size()) slots_.resize(i + 1);
  f->slots++;
  slots_[i].file = std::move(f);
  slots_[i].cloexec = cloexec;
  open_++;
  if (minFd <= int(firstFree_) && i == firstFree_) {
    firstFree_ = i + 1;
    while (firstFree_ < slots_.size() && slots_[firstFree_].file) firstFree_++;
  }
  return int(i);
}

bool FdTable::installAt(int fd, FileRef f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0 || open_ >= max_) return false;
  if (size_t(fd) >= slots_.size()) slots_.resize(size_t(fd) + 1);
  if (slots_[fd].file) return false;
  f->slots++;
  slots_[fd].file = std::move(f);
  open_++;
  while (firstFree_ < slots_.size() && slots_[firstFree_].file) firstFree_++;
  return true;
}

FileRef FdTable::get(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0 || size_t(fd) >= slots_.size()) return nullptr;
  return slots_[fd].file;
}

bool FdTable::cloexec(int fd, bool* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0 || size_t(fd) >= slots_.size() || !slots_[fd].file) return false;
  *out = slots_[fd].cloexec;
  return true;
}

bool FdTable::setCloexec(int fd, bool v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0 || size_t(fd) >= slots_.size() || !slots_[fd].file) return false;
  slots_[fd].cloexec = v;
  return true;
}

FileRef FdTable::remove(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0 || size_t(fd) >= slots_.size() || !slots_[fd].file) return nullptr;
  FileRef f = std::move(slots_[fd].file);
  slots_[fd].file = nullptr;
  if (--f->slots == 0) f->closed = true;
  open_--;
  if (size_t(fd) < firstFree_) firstFree_ = size_t(fd);
  return f;
}

bool FdTable::hasRoom(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ + n <= max_;
}

size_t FdTable::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

std::vector<FileRef> FdTable::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FileRef> out;
  for (auto& s : slots_)
    if (s.file) {
      if (--s.file->slots == 0) s.file->closed = true;
      out.push_back(std::move(s.file));
    }
  slots_.clear();
  open_ = 0;
  firstFree_ = 0;
  return out;
}

}  // namespace flexvm
