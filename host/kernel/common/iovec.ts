import { EINVAL, IOVEC_IOV_BASE, IOVEC_IOV_LEN, IOVEC_SIZE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** Linux's UIO_MAXIOV: readv/writev with more segments fail with EINVAL. */
export const IOV_MAX = 1024;
/** Linux's MAX_RW_COUNT: one read or write moves at most this many bytes (longer requests are cut). */
export const MAX_RW_COUNT = 0x7fff_f000;

/** Bytes a write takes from: the guest's buffers, or a kernel buffer (sendfile). */
export interface ByteSource {
  readonly length: number;
  /** A copy of [offset, offset + len) of the source. */
  read(offset: number, len: number): Uint8Array;
}

/** Where a read puts bytes. */
export interface ByteSink {
  readonly length: number;
  /** Stores `data` at [offset, offset + data.length) of the sink. */
  write(offset: number, data: Uint8Array): void;
}

interface Segment {
  readonly ptr: number;
  readonly len: number;
}

/**
 * A guest buffer, or a scatter/gather list of them (struct iovec), seen as one run of bytes. Every
 * segment is bounds-checked when the list is built, so a call fails with EFAULT before it moves any
 * data or waits; later accesses still go through GuestMemory.
 */
export class GuestBuffers implements ByteSource, ByteSink {
  readonly length: number;

  private constructor(
    private readonly memory: GuestMemory,
    private readonly segments: readonly Segment[],
  ) {
    let total = 0;
    for (const s of segments) total += s.len;
    this.length = total;
  }

  /** One (ptr, count) buffer, count read as u32 and cut to MAX_RW_COUNT. */
  static single(memory: GuestMemory, ptr: number, count: number): GuestBuffers {
    const len = Math.min(count >>> 0, MAX_RW_COUNT);
    if (len > 0) memory.check(ptr, len);
    return new GuestBuffers(memory, [{ ptr: ptr >>> 0, len }]);
  }

  /** Reads `iovcnt` struct iovec at `iovPtr` (EINVAL unless 0 <= iovcnt <= IOV_MAX; EFAULT on a bad segment). */
  static fromIovecs(memory: GuestMemory, iovPtr: number, iovcnt: number): GuestBuffers {
    if (iovcnt < 0 || iovcnt > IOV_MAX) throw new SysError(EINVAL, `iovcnt ${iovcnt}`);
    const segments: Segment[] = [];
    let total = 0;
    if (iovcnt > 0) memory.check(iovPtr, iovcnt * IOVEC_SIZE);
    for (let i = 0; i < iovcnt; i++) {
      const at = (iovPtr >>> 0) + i * IOVEC_SIZE;
      const ptr = memory.u32(at + IOVEC_IOV_BASE);
      // Like Linux, a list longer than MAX_RW_COUNT in total is cut, not refused.
      const len = Math.min(memory.u32(at + IOVEC_IOV_LEN), MAX_RW_COUNT - total);
      if (len > 0) memory.check(ptr, len);
      segments.push({ ptr, len });
      total += len;
    }
    return new GuestBuffers(memory, segments);
  }

  read(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(len, this.length - offset)));
    let filled = 0;
    this.walk(offset, out.length, (ptr, n) => {
      out.set(this.memory.bytes(ptr, n), filled);
      filled += n;
    });
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    let taken = 0;
    this.walk(offset, Math.min(data.length, this.length - offset), (ptr, n) => {
      this.memory.write(ptr, data.subarray(taken, taken + n));
      taken += n;
    });
  }

  /**
   * Views (no copy) of the guest pieces of [offset, offset + len), for host I/O that reads or writes
   * guest memory directly (a file read into the guest's buffer). Valid while the call owns the
   * buffers: a shared memory never moves when it grows, so a view stays usable until completion.
   */
  views(offset = 0, len = this.length - offset): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.walk(offset, Math.min(len, this.length - offset), (ptr, n) => out.push(this.memory.bytes(ptr, n)));
    return out;
  }

  /** Calls `visit` for each guest piece of [offset, offset + len), in order. */
  private walk(offset: number, len: number, visit: (ptr: number, n: number) => void): void {
    let skip = offset;
    let left = len;
    for (const s of this.segments) {
      if (left <= 0) break;
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      const n = Math.min(s.len - skip, left);
      visit(s.ptr + skip, n);
      left -= n;
      skip = 0;
    }
  }
}

/** A kernel-side buffer as a ByteSource (sendfile's chunks). */
export class BytesSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get length(): number {
    return this.bytes.length;
  }
  read(offset: number, len: number): Uint8Array {
    return this.bytes.slice(offset, offset + len);
  }
}
