import { EINVAL, O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from '../../abi/v1.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';

/** Something told synchronously when an object's readiness may have changed (a parked call, an epoll item). */
export interface Watcher {
  /** Only schedules work; never re-enters the object that is changing. */
  notify(): void;
}

/** Undone when a description is released (an epoll set forgets a closed descriptor). */
export interface ReleaseHook {
  released(): void;
}

/**
 * A thread-local open description: a socket, a pipe end, an epoll set or a standard stream. (Files
 * and directories are not descriptions: they live in the process's shared file table, see
 * file-table.ts.) Operations never wait: they return a count, -EAGAIN when they would have to wait,
 * or another -errno; the system call layer decides whether to park (blocking.ts). Each description
 * has exactly one descriptor (there is no dup), so closing the descriptor releases it.
 *
 * Watchers and hooks are allocated on first use: ten thousand idle sockets should cost as little as
 * possible.
 */
export abstract class Description {
  statusFlags: number;
  private watchers: Set<Watcher> | null = null;
  private hooks: Set<ReleaseHook> | null = null;
  released = false;

  constructor(
    /** O_RDONLY, O_WRONLY or O_RDWR. */
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

  /** Reads at most `sink.length` bytes (MSG_PEEK leaves them queued). */
  read(_sink: ByteSink, _peek: boolean): number {
    return -EINVAL;
  }

  /** Writes bytes [start, source.length) of `source`; returns how many it took. */
  write(_source: ByteSource, _start: number): number {
    return -EINVAL;
  }

  /** Room for a write right now, in bytes (sendfile sizes its chunks by it); 0 when full. */
  writeRoom(): number {
    return 0;
  }

  /**
   * What a write would fail with now (-errno), or 0 when it can go ahead or wait. `consume` takes a
   * pending error, as a write that moved no bytes does.
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
