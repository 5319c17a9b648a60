// Defence in depth for the syscall threads: a seccomp filter, installed on each syscall thread only
// (never on Node's threads), that answers EPERM to the system calls an attacker who took over the
// thread would want and the executor never makes (running programs, new processes, tracing, other
// processes' memory, mounts and namespaces, kernel modules, BPF, credentials). A deny-list rather
// than an allow-list: a call the C library makes that nobody listed (malloc's mmap, a futex) must
// never fail, and the sandbox's real enforcement is the ABI's table and openat2, not this filter.
#pragma once

namespace flexvm {

// Installs the filter on the calling thread. Returns 0, or an errno when the kernel refused it
// (no seccomp in a container, say): the thread then runs without it.
int installSyscallThreadFilter();

}  // namespace flexvm
