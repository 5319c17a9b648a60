import { EINVAL, ESPIPE, O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from '../../abi/v1.js';
import type { ByteSink, ByteSource } from './iovec.js';
import type { StatInfo } from './stat.js';

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
 * standard stream, and in the virtual kernel also regular files and directories). Operations never
 * wait: they return a count (0 at end of file), -EAGAIN when they would have to wait, or another
 * -errno; the system call layer decides whether to park (blocking.ts). Neither kernel has dup, so a
 * description has exactly one descriptor and closing it releases the description.
 *
 * Watchers are told in registration order, which keeps virtual runs deterministic and waiting calls
 * first-come first-served. Watchers and hooks are allocated on first use: ten thousand idle sockets
 * should cost as little as possible.
 */
export abstract class Description implements Waitable {
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

  /** Reads at most `sink.length` bytes (`peek`: MSG_PEEK, leave them queued). */
  read(_sink: ByteSink, _peek: boolean): number {
    return -EINVAL;
  }

  /** Writes bytes [start, source.length) of `source`; returns how many it took. */
  write(_source: ByteSource, _start: number): number {
    return -EINVAL;
  }

  pread(_sink: ByteSink, _position: number): number {
    return -ESPIPE;
  }

  pwrite(_source: ByteSource, _position: number): number {
    return -ESPIPE;
  }

  /** lseek: the new offset or -errno. */
  seek(_offset: number, _whence: number): number {
    return -ESPIPE;
  }

  /** fsync/fdatasync: 0, or -EINVAL for objects without storage (pipes, sockets, terminals). */
  sync(): number {
    return -EINVAL;
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
