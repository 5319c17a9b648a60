// The guest's view of the host filesystem: the union of its grants. Guest paths are normalised
// lexically ("." vanishes, ".." drops the previous name and never climbs above "/"), mapped to the
// grant whose guest path is their longest prefix, and the rest is resolved by the host kernel with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) against a descriptor of the granted directory:
// a symlink or ".." that would leave it fails inside the kernel, with no window between a check and
// the use. The directories above the grants exist, read-only, and list the grants below them.
#pragma once
#include <string>
#include <vector>

#include "guest.h"

namespace flexvm {

struct Resolved {
  int grant = -1;                  // index in Guest::grants, or -1
  std::vector<std::string> guest;  // normalised guest components
  std::string rest;                // path below the grant's root ("" for the root itself)
  bool trailingSlash = false;
  int lastDots = 0;                // the path's last name was "." (1) or ".." (2), which normalising hides
  bool synthetic = false;          // a strict ancestor of a grant (grant == -1)
  std::vector<std::string> children;  // synthetic: the names below it
};

// Reads the guest path at `ptr` relative to guest descriptor `dirfd` (AT_FDCWD: "/"). 0 or -errno.
int resolvePath(Guest& g, int dirfd, uint32_t ptr, Resolved& out, bool allowEmpty = false);

// openat2 below the grant of `r` ("." for its root). Returns a host descriptor or -errno.
int openBeneath(const Guest& g, const Resolved& r, int flags, unsigned mode);

// Opens the parent directory of `r` (O_PATH) and gives the last name: for calls that create,
// remove or rename a name. -errno when r is a grant root (the caller decides: EBUSY, EEXIST).
int openParent(const Guest& g, const Resolved& r, std::string* name);

// Fills a struct stat for a synthetic directory.
void syntheticStat(void* st);

}  // namespace flexvm
