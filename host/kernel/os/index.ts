import type { Kernel, KernelContext, KernelModule } from '../kernel.js';
import { PROCESS_SHARED_BYTES } from './file-table.js';
import type { OsKernelConfig } from './options.js';
import { OsKernel } from './kernel.js';

/*
 * The `os` kernel module: the real machine through Node's `net` and `fs`. A guest listens on real
 * ports, real clients connect, and it reads real files from the directories it was granted.
 *
 * Placement: `per-thread`. One OsKernel lives on every syscall thread and attach(spec) is called on
 * each for the same process. A descriptor created on thread t satisfies fd % spec.fdClasses === t
 * (the lowest free number of that class); 0, 1 and 2 are the standard streams and exist on every
 * thread (stdin's read position is shared, so the stream is read once).
 *
 * What lives where:
 * - Sockets, pipes and epoll sets are thread-local objects (common/description.ts): a net.Socket belongs to
 *   the event loop that created it, and Node 20 can neither share a listening port between worker
 *   threads nor move a socket to another one. The guest routes every call on a descriptor to its
 *   owner thread, so this costs nothing; an epoll set or poll() on one thread cannot watch another
 *   thread's sockets (EPERM, see epoll.ts and poll.ts).
 * - Files and directories live in a per-process table in ProcessSpec.shared (file-table.ts): host fd,
 *   offset as two 32-bit words, flags, kind, owner class, directory path, reference counts, all
 *   updated with Atomics. Any thread can use any file: sendfile's in_fd next to a socket of another
 *   class, a dirfd of another class. The descriptor count for spec.limits.maxFds is kept there too,
 *   so EMFILE holds for the process, not per thread.
 *
 * Two modes:
 * - On a syscall thread (the usual case), file calls use the asynchronous fs API (libuv's threadpool)
 *   and complete from the event loop, so a slow disk never stalls the sockets served by the thread.
 * - Colocated (context.colocated: the kernel runs on the guest's own thread, epoll mode), file calls
 *   complete synchronously inside syscall() with fs.*Sync, like read(2) on a file in a traditional
 *   epoll server; only calls that wait for readiness or time return PENDING. One implementation
 *   serves both: file operations are generators run by a synchronous or an asynchronous driver
 *   (fs-driver.ts).
 * `asynchronous` is true in both modes: sockets and timers complete calls from the event loop.
 *
 * Files: only under spec.grants, with the sandbox rules of sandbox.ts (lexical "..", then resolution
 * beneath the grant root by descriptors, beneath.ts, so a rename racing a call cannot redirect it;
 * ENOENT outside the grants, EACCES for symlinks leading out).
 *
 * Sockets (socket.ts, listener.ts): AF_INET stream sockets. Back-pressure both ways: a socket whose
 * receive queue holds SO_RCVBUF bytes is paused until the guest reads; writes wait (or, without
 * waiting, take what fits or fail with EAGAIN) while Node holds SO_SNDBUF unsent bytes. The accept
 * queue holds backlog + 1 connections; more are reset (tcp_abort_on_overflow semantics, listener.ts).
 * Close is graceful (FIN after every written byte) unless unread data remains (reset, as Linux).
 * Parked calls (common/scheduler.ts) can be cancelled (-ECANCELED) and end with EBADF when their
 * descriptor is closed; idle connections hold no timer.
 *
 * Options: `{ kind: 'os', allowNonLoopbackListen: true }` (options.ts); by default
 * every listener is on 127.0.0.1.
 *
 * Where Node 20 makes us differ from Linux (each explained where it is implemented):
 * - bind() only records the address; a port in use is reported by listen() (socket-calls.ts), and in
 *   colocated mode listen's errno is inferred, Node telling the reason a tick too late (inet.ts);
 * - a full accept queue resets new connections instead of dropping their handshake (listener.ts);
 * - SO_SNDBUF/SO_RCVBUF size flexvm's own buffers, not the OS socket's (socket.ts);
 * - a directory descriptor resolves relative paths by the path it was opened with (file-calls.ts);
 * - only the owner thread closes a descriptor (close of another class's descriptor is EBADF), and
 *   epoll/poll see only their own thread's sockets (EPERM otherwise).
 */

export const placement: KernelModule['placement'] = 'per-thread';

/** Every guest's file table (file-table.ts), shared by the instances on every syscall thread. */
export const processSharedBytes = PROCESS_SHARED_BYTES;

export function createKernel(options: OsKernelConfig, context: KernelContext): Kernel {
  return new OsKernel(options, context);
}

/** The same module as one value, for embedders that pass kernel modules around. */
export const osKernelModule: KernelModule<OsKernelConfig> = { placement, createKernel, processSharedBytes };

export { OsKernel, OS_SYSCALLS } from './kernel.js';
export type { OsProcess } from './process.js';
export { osKernelOptions, DEFAULT_OS_OPTIONS, type OsKernelOptions, type OsKernelConfig } from './options.js';
export { PROCESS_SHARED_BYTES } from './file-table.js';
export { DEFAULT_SNDBUF, DEFAULT_RCVBUF, TcpSocket } from './socket.js';
export { SOMAXCONN } from '../common/tcp.js';
export { PIPE_CAPACITY, PIPE_BUF } from '../common/pipe.js';
export { SENDFILE_CHUNK } from './sendfile.js';
export { ORPHAN_TIMEOUT_MS } from './orphans.js';
