import { ENAMETOOLONG, PATH_MAX } from '../abi/v1.js';
import { GuestFault, SysError } from '../errors.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** FLEXVM_DEBUG_FAULTS=1: print every fault a guest's pointer causes, with the host stack. */
const DEBUG_FAULTS = process.env['FLEXVM_DEBUG_FAULTS'] === '1';


/**
 * Bounds-checked access to a guest's shared linear memory from any host thread.
 *
 * Guest pointers are byte offsets (u32). Every (ptr, len) is checked against the memory's current
 * size; an out-of-bounds access throws GuestFault (the call fails with -EFAULT). A shared memory can
 * grow on another thread, and a SharedArrayBuffer handed out earlier keeps its old length, so views
 * are refreshed from `memory.buffer` when an access goes past the cached length.
 */
export class GuestMemory {
  private cachedBuffer: SharedArrayBuffer | ArrayBuffer;
  u8: Uint8Array;
  i32: Int32Array;
  view: DataView;

  constructor(readonly memory: WebAssembly.Memory) {
    this.cachedBuffer = memory.buffer;
    this.u8 = new Uint8Array(this.cachedBuffer);
    this.i32 = new Int32Array(this.cachedBuffer);
    this.view = new DataView(this.cachedBuffer);
  }

  /** Current size in bytes (refreshing the views if the memory grew). */
  get size(): number {
    this.awaitGrowth(0);
    return this.u8.length;
  }

  /** Re-reads `memory.buffer` so the views cover memory grown since they were made. */
  refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer.byteLength !== this.cachedBuffer.byteLength) {
      this.cachedBuffer = buffer;
      this.u8 = new Uint8Array(buffer);
      this.i32 = new Int32Array(buffer);
      this.view = new DataView(buffer);
    }
  }

  /** Throws GuestFault unless [ptr, ptr + len) lies inside memory. `ptr` and `len` are read as u32. */
  check(ptr: number, len: number): void {
    const p = ptr >>> 0;
    const end = p + (len >>> 0);
    if (end > this.u8.length) {
      this.refresh();
      if (end > this.u8.length && !this.awaitGrowth(end)) {
        if (DEBUG_FAULTS) console.error(`flexvm: fault [${p}, +${len >>> 0}) in ${this.u8.length} bytes\n${new Error().stack}`);
        throw new GuestFault(p, len);
      }
    }
  }

  /**
   * A shared memory grown by the guest's thread is not always seen at once by another thread: V8
   * refreshes an isolate's `memory.buffer` when that isolate handles the grow interrupt, or when it
   * grows the memory itself (CI saw a guest's write of a freshly allocated buffer fail with EFAULT,
   * once in many runs). `grow(0)` makes this thread read the memory's current length.
   */
  private awaitGrowth(end: number): boolean {
    try {
      this.memory.grow(0);
    } catch {
      return false; // not a memory that can grow: its size is what we have
    }
    this.refresh();
    return end <= this.u8.length;
  }

  /** A view (no copy) of guest bytes. Copy it before keeping it past the current call. */
  bytes(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    const p = ptr >>> 0;
    return this.u8.subarray(p, p + (len >>> 0));
  }

  /** A private copy of guest bytes. */
  copy(ptr: number, len: number): Uint8Array {
    return this.bytes(ptr, len).slice();
  }

  /** Copies `data` into guest memory at `ptr`. */
  write(ptr: number, data: Uint8Array): void {
    this.check(ptr, data.length);
    this.u8.set(data, ptr >>> 0);
  }

  /** Zero-fills [ptr, ptr + len). */
  fill(ptr: number, len: number, value = 0): void {
    this.check(ptr, len);
    const p = ptr >>> 0;
    this.u8.fill(value, p, p + (len >>> 0));
  }

  u8At(ptr: number): number {
    this.check(ptr, 1);
    return this.u8[ptr >>> 0]!;
  }
  setU8(ptr: number, v: number): void {
    this.check(ptr, 1);
    this.u8[ptr >>> 0] = v;
  }
  u16(ptr: number): number {
    this.check(ptr, 2);
    return this.view.getUint16(ptr >>> 0, true);
  }
  setU16(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.view.setUint16(ptr >>> 0, v, true);
  }
  /** Big-endian u16 (network byte order), for ports. */
  u16be(ptr: number): number {
    this.check(ptr, 2);
    return this.view.getUint16(ptr >>> 0, false);
  }
  setU16be(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.view.setUint16(ptr >>> 0, v, false);
  }
  i16(ptr: number): number {
    this.check(ptr, 2);
    return this.view.getInt16(ptr >>> 0, true);
  }
  setI16(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.view.setInt16(ptr >>> 0, v, true);
  }
  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getUint32(ptr >>> 0, true);
  }
  setU32(ptr: number, v: number): void {
    this.check(ptr, 4);
    this.view.setUint32(ptr >>> 0, v >>> 0, true);
  }
  i32At(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getInt32(ptr >>> 0, true);
  }
  setI32(ptr: number, v: number): void {
    this.check(ptr, 4);
    this.view.setInt32(ptr >>> 0, v | 0, true);
  }
  /** Reads an i64 as a JS number (exact up to 2^53). */
  i64(ptr: number): number {
    this.check(ptr, 8);
    const lo = this.view.getUint32(ptr >>> 0, true);
    const hi = this.view.getInt32((ptr >>> 0) + 4, true);
    return hi * 0x1_0000_0000 + lo;
  }
  /** Writes a JS number (integer, |n| < 2^53) as an i64. */
  setI64(ptr: number, n: number): void {
    this.check(ptr, 8);
    const p = ptr >>> 0;
    this.view.setUint32(p, n >>> 0, true);
    this.view.setInt32(p + 4, Math.floor(n / 0x1_0000_0000) | 0, true);
  }

  /**
   * Reads a NUL-terminated string (paths). Fails with -EFAULT when it runs off the end of memory and
   * -ENAMETOOLONG when it is longer than `max` bytes. Returns the raw bytes' UTF-8 decoding; callers
   * that must refuse embedded oddities check the bytes with `cstringBytes`.
   */
  cstring(ptr: number, max = PATH_MAX): string {
    return decoder.decode(this.cstringBytes(ptr, max));
  }

  /** The bytes of a NUL-terminated string, without the NUL (a view; copy to keep). */
  cstringBytes(ptr: number, max = PATH_MAX): Uint8Array {
    const p = ptr >>> 0;
    this.check(p, 1);
    const limit = Math.min(this.u8.length, p + max + 1);
    const nul = this.u8.subarray(p, limit).indexOf(0);
    if (nul === -1) {
      // Ran off the end of memory before `max` bytes: a bad pointer. Otherwise the string is too long.
      if (limit - p <= max) throw new GuestFault(p, limit - p + 1);
      throw new SysError(ENAMETOOLONG);
    }
    return this.u8.subarray(p, p + nul);
  }
}
