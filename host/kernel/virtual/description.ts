import { EINVAL, ESPIPE, O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from '../../abi/v1.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import type { StatInfo } from '../common/stat.js';
import { WaitQueue } from './wait-queue.js';

/** How a read may behave (recvfrom's flags). */
export interface ReadOptions {
  /** MSG_PEEK: leave the bytes queued. */
  readonly peek: boolean;
}

/** Something to undo when a description is released (an epoll set watching it). */
export interface ReleaseHook {
  released(): void;
}

/**
 * An open file description: the object a descriptor refers to (a regular file with its offset, a
 * pipe end, a socket, an epoll instance...). Operations never wait: they return a byte count (or 0
 * at end of file), -EAGAIN when they would have to wait, or another -errno; the system call layer
 * decides whether to park (see io-calls.ts).
 */
export abstract class Description {
  /** Status flags F_GETFL reports (O_APPEND, O_NONBLOCK...), without the access mode. */
  statusFlags: number;
  /** Told about every change of readiness (data, room, peers, errors, release). */
  readonly queue = new WaitQueue();
  /** Descriptors referring to this description. */
  refs = 0;
  /** Undone at release. */
  readonly releaseHooks = new Set<ReleaseHook>();

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

  /** Reads at most `sink.length` bytes. */
  read(_sink: ByteSink, _options: ReadOptions): number {
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

  /** Current readiness as POLL* bits (the same values as EPOLL*). */
  abstract poll(): number;

  abstract stat(): StatInfo;

  /** The last descriptor was closed: tell peers, free resources. Subclasses call super.release(). */
  release(): void {
    for (const hook of [...this.releaseHooks]) hook.released();
    this.releaseHooks.clear();
    this.queue.notify();
  }
}
