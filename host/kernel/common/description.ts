import {
  EBADF,
  EINVAL,
  ENOTDIR,
  ESPIPE,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  O_ACCMODE,
  O_APPEND,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { ByteSink, ByteSource } from './iovec.js';
import { writeStat, type StatInfo } from './stat.js';

/** Status flags F_SETFL may change (Linux ignores the others). */
export const SETFL_MASK = O_APPEND | O_NONBLOCK;

/** Where a descriptor's close-on-exec flag lives when its description does not keep it (a table entry). */
export interface CloexecHolder {
  cloexec: boolean;
}

/** Something told synchronously when an object's readiness may have changed (a parked call, an epoll item). */
export interface Watcher {
  /** Only schedules work; never re-enters the object that is changing. */
  notify(): void;
}

/** Undone when a description is released (an epoll set forgets a closed descriptor). */
export interface ReleaseHook {
  released(): void;
}

/** An object a call can wait on: it tells its watchers about every change of readiness. */
export interface Waitable {
  addWatcher(w: Watcher): void;
  removeWatcher(w: Watcher): void;
}

/**
 * An open file description: the object a descriptor refers to (a pipe end, a socket, an epoll set, a
 * standard stream, a regular file or a directory). Each kind is a class that overrides what it
 * supports; the defaults answer as Linux does for an object without that operation (ESPIPE, EINVAL,
 * ENOTDIR), so a system call has one path whatever the descriptor is. Operations never wait: they
 * return a count (0 at end of file), -EAGAIN when they would have to wait for readiness, or another
 * -errno; the system call layer decides whether to park (blocking.ts). Neither kernel has dup, so a
 * description has exactly one descriptor and closing it releases the description.
 *
 * `Step` is what an operation may answer instead of a result, for a kernel whose descriptions run
 * some operations asynchronously: the os kernel's files answer with a file operation (a generator of
 * host requests) that its driver runs to the call's result, synchronously or on libuv's threadpool
 * (os/file-description.ts). It is `never` for descriptions that always answer at once, the virtual
 * kernel's and the common ones, so their callers see plain numbers.
 *
 * Watchers are told in registration order, which keeps virtual runs deterministic and waiting calls
 * first-come first-served. Watchers and hooks are allocated on first use: ten thousand idle sockets
 * should cost as little as possible.
 */
export abstract class Description<Step = never> implements Waitable {
  /** Status flags F_GETFL reports (O_APPEND, O_NONBLOCK...), without the access mode. */
  statusFlags: number;
  private watchers: Set<Watcher> | null = null;
  private hooks: Set<ReleaseHook> | null = null;
  released = false;

  constructor(
    /** O_RDONLY, O_WRONLY, O_RDWR (or 3: neither, as Linux allows). */
    readonly accessMode: number,
    statusFlags = 0,
  ) {
    this.statusFlags = statusFlags;
  }

  get readable(): boolean {
    const m = this.accessMode & O_ACCMODE;
    return m === O_RDONLY || m === O_RDWR;
  }

  get writable(): boolean {
    const m = this.accessMode & O_ACCMODE;
    return m === O_WRONLY || m === O_RDWR;
  }

  get nonblocking(): boolean {
    return (this.statusFlags & O_NONBLOCK) !== 0;
  }

  /**
   * Whether pread64/pwrite64 apply (Linux's FMODE_PREAD): regular files and directories. Linux
   * answers ESPIPE for anything else before it looks at the buffer.
   */
  get positional(): boolean {
    return false;
  }

  /** Reads at most `sink.length` bytes (`peek`: MSG_PEEK, leave them queued). */
  read(_sink: ByteSink, _peek: boolean): number | Step {
    return -EINVAL;
  }

  /** Writes bytes [start, source.length) of `source`; returns how many it took. */
  write(_source: ByteSource, _start: number): number | Step {
    return -EINVAL;
  }

  /** pread64 at `position` (see positional). */
  pread(_sink: ByteSink, _position: number): number | Step {
    return this.readable ? -ESPIPE : -EBADF;
  }

  pwrite(_source: ByteSource, _position: number): number | Step {
    return this.writable ? -ESPIPE : -EBADF;
  }

  /** lseek: the new offset or -errno. */
  seek(_offset: number, _whence: number): number | Step {
    return -ESPIPE;
  }

  /** fsync/fdatasync: 0, or -EINVAL for objects without storage (pipes, sockets, terminals). */
  sync(_dataOnly: boolean): number | Step {
    return -EINVAL;
  }

  /** ftruncate to `length` (not negative): only a regular file open for writing can. */
  truncate(_length: number): number | Step {
    return -EINVAL;
  }

  /** getdents64 into `count` bytes at `dirp`: only a directory can. */
  getdents(_memory: GuestMemory, _dirp: number, _count: number): number | Step {
    return -ENOTDIR;
  }

  /** fstat: stores stat() at `ptr` (Linux's struct stat). */
  fstat(memory: GuestMemory, ptr: number): number | Step {
    writeStat(memory, ptr, this.stat());
    return 0;
  }

  /**
   * fcntl's F_GETFD/F_SETFD (close-on-exec, kept by `entry`, the descriptor's table entry) and
   * F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK: the description's status flags); others EINVAL.
   */
  fcntl(entry: CloexecHolder, cmd: number, arg: number): number {
    switch (cmd) {
      case F_GETFD:
        return entry.cloexec ? FD_CLOEXEC : 0;
      case F_SETFD:
        entry.cloexec = (arg & FD_CLOEXEC) !== 0;
        return 0;
      case F_GETFL:
        return this.accessMode | this.statusFlags;
      case F_SETFL:
        this.statusFlags = (this.statusFlags & ~SETFL_MASK) | (arg & SETFL_MASK);
        // A waiting call keeps its mode, but pollers may care: wake them to re-check.
        this.changed();
        return 0;
      default:
        return -EINVAL;
    }
  }

  /**
   * Room for a write right now, in bytes; 0 when full. The os kernel's sendfile sizes its host reads
   * by it (the virtual kernel's sendfile offers whole chunks and does not ask).
   */
  writeRoom(): number {
    return 0;
  }

  /**
   * What a write would fail with now (-errno), or 0 when it can go ahead or wait. `consume` takes a
   * pending error, as a write that moved no bytes does. (os sendfile, like writeRoom.)
   */
  writeError(_consume: boolean): number {
    return 0;
  }

  /** Current readiness as POLL* bits (the same values as EPOLL*). */
  abstract poll(): number;

  /** What fstat reports, now. */
  abstract stat(): StatInfo;

  addWatcher(w: Watcher): void {
    (this.watchers ??= new Set()).add(w);
  }

  removeWatcher(w: Watcher): void {
    this.watchers?.delete(w);
  }

  addReleaseHook(h: ReleaseHook): void {
    (this.hooks ??= new Set()).add(h);
  }

  removeReleaseHook(h: ReleaseHook): void {
    this.hooks?.delete(h);
  }

  /** Tells every watcher that readiness may have changed. */
  changed(): void {
    const ws = this.watchers;
    if (ws === null || ws.size === 0) return;
    for (const w of ws) w.notify();
  }

  /** The descriptor was closed: tell peers, free resources. Subclasses call super.release(). */
  release(): void {
    this.released = true;
    const hooks = this.hooks;
    this.hooks = null;
    if (hooks !== null) for (const h of hooks) h.released();
    this.changed();
  }
}
