// The three host imports (module "flexvm"). Each call is a mode switch; the exception-less path
// makes only the first, once.

/** Hands the control block to the host. Returns 0 or -errno (the host prints why it refused). */
@external("flexvm", "register")
export declare function host_register(ctrl: usize): i32;

/**
 * Registers `count` more syscall pages at `ptr` (PAGE_SIZE each, contiguous, 64-aligned, zeroed),
 * numbered after those registered so far. Returns the new number of pages, or -errno: -EINVAL
 * (misaligned, overlapping, not registered), -EFAULT (outside memory), -ENOSPC (past page_max).
 */
@external("flexvm", "add_pages")
export declare function host_add_pages(ptr: usize, count: i32): i32;

/** sync/epoll modes: executes the entry and returns with it DONE. */
@external("flexvm", "syscall")
export declare function host_syscall(entry: usize): void;

/**
 * epoll mode: starts the call in `entry` without blocking. 0: it is already DONE. 1: the guest must
 * return to the host, which calls the `flexsc_resume` export once the entry is DONE.
 */
@external("flexvm", "yield")
export declare function host_yield(entry: usize): i32;

/**
 * Host waits (control field `waits` = WAITS_HOST, a native kernel): sleeps while the word at `addr`
 * holds `expected`, at most `timeoutUs` (< 0: no limit). 0 woken, 1 not equal, 2 timed out.
 */
@external("flexvm", "wait")
export declare function host_wait(addr: usize, expected: i32, timeoutUs: i32): i32;

/**
 * Tells the embedder the guest is ready (its `guest.ready` promise settles with the UTF-8 text at
 * `ptr`, at most 1 KiB; only the first call counts). Not a system call: made once per run.
 */
@external("flexvm", "ready")
export declare function host_ready(ptr: usize, len: i32): void;

/** Host waits: wakes whatever sleeps on the word at `addr` (a doorbell: that syscall thread). */
@external("flexvm", "wake")
export declare function host_wake(addr: usize): i32;
