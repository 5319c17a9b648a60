/**
 * The process's table of open files and directories, in ProcessSpec.shared: every per-thread
 * instance of the os kernel that serves one process sees the same table, so a file opened on one
 * syscall thread can be used from another (sendfile's in_fd next to a socket of another class, a
 * dirfd of another class). Real host descriptors from fs.open are process-wide, so any thread can
 * use them. Sockets, pipes and epoll sets are not here: they stay on the thread that owns them.
 *
 * Layout (Int32 words; the buffer starts zeroed, and zero is a valid empty state, so no thread has
 * to initialise it):
 *
 *   header (16 words)
 *     0  magic (claimed by the first attach; guards against a buffer used for something else)
 *     1  descriptors open in the process, all threads, beyond the standard streams (-> EMFILE)
 *     2  bytes of stdin consumed (fd 0 reads the same stream whichever thread serves it)
 *     3  longest probe distance ever used in the slot table (lookups probe no further)
 *   slots (SLOT_WORDS words each), an open-addressing hash table keyed by guest fd
 *     0  key: fd + 1 while the slot is findable; 0 never used; -1 (TOMB) after close
 *     1  state: IN_USE | CLOSED | reference count (the descriptor holds one reference, and every
 *        call using the slot holds one while it runs, async file I/O included)
 *     2  host fd (-1 for a synthetic directory)
 *     3  offset, low 32 bits     4  offset, high 32 bits (guarded by the lock word)
 *     5  guest open flags (access mode and status flags, F_GETFL)
 *     6  kind (FileKind)         7  owner class (the thread that opened it)
 *     8  lock word for the offset (a spin lock held for a few instructions, never across I/O)
 *     9  first path block + 1 (directories: their guest path)    10  path length in bytes
 *    11  misc bits (POS_AT_END: an O_APPEND write left the offset at an unknown end of file;
 *        HOST_APPEND: the host fd itself was opened with O_APPEND)
 *   path block bitmap (one bit per block), then path blocks of BLOCK_BYTES:
 *     word 0: next block + 1 (0: last); data from byte 8
 *
 * Concurrency. Only the owner thread inserts and closes its descriptors, but owners insert
 * concurrently, so a slot is claimed by compare-and-swap of its state (0 -> IN_USE|1), filled, and
 * published by storing its key last. A lookup probes from fd % slots up to the longest probe distance
 * and acquires a reference by compare-and-swap; it re-checks the key afterwards (the slot may have
 * been freed and reused in between). Close sets CLOSED (no new references) and drops the
 * descriptor's reference; whoever drops the last reference frees the slot and closes the host fd,
 * so a host fd is never closed under a read in flight on another thread and never reused under it.
 * Offsets are read and updated under the slot's lock word; a read or write reserves its range first
 * (offset += count), then gives back what it did not use if nobody moved the offset meanwhile, so
 * two threads reading one descriptor get disjoint ranges, as Linux's f_pos lock guarantees.
 */

export enum FileKind {
  File = 1,
  Dir = 2,
  /** A directory above the grants ("/" when grants are at /www and /data): no host directory. */
  SyntheticDir = 3,
}

const MAGIC = 0x31534f46; // "FOS1"
const HEADER_WORDS = 16;
const H_MAGIC = 0;
const H_OPEN = 1;
const H_STDIN = 2;
const H_PROBE = 3;

const SLOT_WORDS = 16;
const S_KEY = 0;
const S_STATE = 1;
const S_HOSTFD = 2;
const S_POS_LO = 3;
const S_POS_HI = 4;
const S_FLAGS = 5;
const S_KIND = 6;
const S_OWNER = 7;
const S_LOCK = 8;
const S_PATH = 9;
const S_PATHLEN = 10;
const S_MISC = 11;

const IN_USE = 1 << 30;
const CLOSED = 1 << 29;
const REFS = (1 << 24) - 1;
const TOMB = -1;
const POS_AT_END = 1;
const HOST_APPEND = 2;

/** The table's size: the os kernel module's processSharedBytes, the ProcessSpec.shared of each guest. */
export const PROCESS_SHARED_BYTES = 1 << 20;

/** Slots in a table of PROCESS_SHARED_BYTES (1 MiB): at most this many files and directories open per process. */
const MAX_SLOTS = 8192;
const BLOCK_BYTES = 128;
const BLOCK_WORDS = BLOCK_BYTES / 4;
const BLOCK_DATA = BLOCK_BYTES - 8;

const TWO_32 = 0x1_0000_0000;

export class SharedFileTable {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  readonly slots: number;
  private readonly bitmapW: number;
  private readonly blocks: number;
  private readonly blocksW: number;

  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    const words = this.i32.length;
    // Half the buffer for slots, the rest for directory paths.
    this.slots = Math.min(MAX_SLOTS, Math.floor((words - HEADER_WORDS) / 2 / SLOT_WORDS));
    const rest = words - HEADER_WORDS - this.slots * SLOT_WORDS;
    this.blocks = Math.floor((rest * 32) / (BLOCK_WORDS * 32 + 1) / 32) * 32;
    this.bitmapW = HEADER_WORDS + this.slots * SLOT_WORDS;
    this.blocksW = this.bitmapW + this.blocks / 32;
    if (this.slots < 16) throw new RangeError(`ProcessSpec.shared is too small (${buffer.byteLength} bytes)`);
    const seen = Atomics.compareExchange(this.i32, H_MAGIC, 0, MAGIC);
    if (seen !== 0 && seen !== MAGIC) throw new Error('ProcessSpec.shared holds something other than an os kernel file table');
  }

  // ---------------------------------------------------------------- process-wide counters

  /**
   * Counts `n` new descriptors against the process-wide limit (all threads together). `base` is the
   * number of standard streams the process has. False (nothing counted) when over `max`.
   */
  reserveDescriptors(n: number, base: number, max: number): boolean {
    const after = Atomics.add(this.i32, H_OPEN, n) + n;
    if (after + base <= max) return true;
    Atomics.sub(this.i32, H_OPEN, n);
    return false;
  }

  releaseDescriptors(n: number): void {
    Atomics.sub(this.i32, H_OPEN, n);
  }

  /** Claims up to `want` bytes of a stdin of `total` bytes: returns the start offset and count. */
  takeStdin(want: number, total: number): [number, number] {
    for (;;) {
      const pos = Atomics.load(this.i32, H_STDIN);
      const n = Math.max(0, Math.min(want, total - pos));
      if (n === 0) return [pos, 0];
      if (Atomics.compareExchange(this.i32, H_STDIN, pos, pos + n) === pos) return [pos, n];
    }
  }

  // ---------------------------------------------------------------- slots

  /**
   * Publishes an open file under guest descriptor `fd`, holding the descriptor's reference. Returns
   * the slot, or -1 when the table (or the path storage) is full.
   */
  insert(fd: number, hostFd: number, kind: FileKind, flags: number, owner: number, path: Uint8Array | null, hostAppend = false): number {
    let head = 0;
    if (path !== null && path.length > 0) {
      head = this.storePath(path);
      if (head === 0) return -1;
    }
    const n = this.slots;
    for (let d = 0; d < n; d++) {
      const s = (fd + d) % n;
      const w = s * SLOT_WORDS + HEADER_WORDS;
      if (Atomics.compareExchange(this.i32, w + S_STATE, 0, IN_USE | 1) !== 0) continue;
      const i32 = this.i32;
      Atomics.store(i32, w + S_HOSTFD, hostFd);
      Atomics.store(i32, w + S_POS_LO, 0);
      Atomics.store(i32, w + S_POS_HI, 0);
      Atomics.store(i32, w + S_FLAGS, flags);
      Atomics.store(i32, w + S_KIND, kind);
      Atomics.store(i32, w + S_OWNER, owner);
      Atomics.store(i32, w + S_LOCK, 0);
      Atomics.store(i32, w + S_PATH, head);
      Atomics.store(i32, w + S_PATHLEN, path?.length ?? 0);
      Atomics.store(i32, w + S_MISC, hostAppend ? HOST_APPEND : 0);
      for (;;) {
        const max = Atomics.load(i32, H_PROBE);
        if (max >= d || Atomics.compareExchange(i32, H_PROBE, max, d) === max) break;
      }
      Atomics.store(i32, w + S_KEY, fd + 1);
      return s;
    }
    if (head !== 0) this.freePath(head);
    return -1;
  }

  /** Finds the open file `fd` and takes a reference to it (release it when done); -1 if none. */
  lookup(fd: number): number {
    if (!Number.isInteger(fd) || fd < 0) return -1;
    const max = Atomics.load(this.i32, H_PROBE);
    const n = this.slots;
    for (let d = 0; d <= max && d < n; d++) {
      const s = (fd + d) % n;
      if (Atomics.load(this.i32, this.word(s, S_KEY)) === fd + 1 && this.acquire(s, fd)) return s;
    }
    return -1;
  }

  /** Takes a reference to slot `s` if it still holds open descriptor `fd`. */
  acquire(s: number, fd: number): boolean {
    const sw = this.word(s, S_STATE);
    for (;;) {
      const v = Atomics.load(this.i32, sw);
      if ((v & IN_USE) === 0 || (v & CLOSED) !== 0) return false;
      if (Atomics.compareExchange(this.i32, sw, v, v + 1) === v) break;
    }
    if (Atomics.load(this.i32, this.word(s, S_KEY)) === fd + 1) return true;
    this.release(s);
    return false;
  }

  /**
   * Drops a reference. When it was the last one the slot is freed and the host fd is returned for
   * the caller to close (-1 otherwise).
   */
  release(s: number): number {
    const v = Atomics.sub(this.i32, this.word(s, S_STATE), 1) - 1;
    if ((v & REFS) !== 0) return -1;
    const hostFd = Atomics.load(this.i32, this.word(s, S_HOSTFD));
    const head = Atomics.load(this.i32, this.word(s, S_PATH));
    if (head !== 0) this.freePath(head);
    Atomics.store(this.i32, this.word(s, S_KEY), TOMB);
    Atomics.store(this.i32, this.word(s, S_STATE), 0);
    return hostFd;
  }

  /** close(): no new references; drops the descriptor's. Returns a host fd to close, or -1. */
  close(s: number): number {
    Atomics.or(this.i32, this.word(s, S_STATE), CLOSED);
    return this.release(s);
  }

  hostFd(s: number): number {
    return Atomics.load(this.i32, this.word(s, S_HOSTFD));
  }

  kind(s: number): FileKind {
    return Atomics.load(this.i32, this.word(s, S_KIND)) as FileKind;
  }

  owner(s: number): number {
    return Atomics.load(this.i32, this.word(s, S_OWNER));
  }

  flags(s: number): number {
    return Atomics.load(this.i32, this.word(s, S_FLAGS));
  }

  setFlags(s: number, flags: number): void {
    Atomics.store(this.i32, this.word(s, S_FLAGS), flags);
  }

  /** The guest path a directory was opened by (empty for files). */
  path(s: number): Uint8Array {
    const len = Atomics.load(this.i32, this.word(s, S_PATHLEN));
    const out = new Uint8Array(len);
    let block = Atomics.load(this.i32, this.word(s, S_PATH));
    for (let at = 0; at < len && block !== 0; ) {
      const b = block - 1;
      const n = Math.min(BLOCK_DATA, len - at);
      const byte = (this.blocksW + b * BLOCK_WORDS) * 4 + 8;
      out.set(this.u8.subarray(byte, byte + n), at);
      at += n;
      block = Atomics.load(this.i32, this.blocksW + b * BLOCK_WORDS);
    }
    return out;
  }

  // ---------------------------------------------------------------- offsets

  position(s: number): number {
    this.lock(s);
    const p = this.readPos(s);
    this.unlock(s);
    return p;
  }

  setPosition(s: number, pos: number): void {
    this.lock(s);
    this.writePos(s, pos);
    this.clearMisc(s, POS_AT_END);
    this.unlock(s);
  }

  /** Reserves [offset, offset + count) for a read or write at the file offset; returns its start. */
  reserve(s: number, count: number): number {
    this.lock(s);
    const p = this.readPos(s);
    this.writePos(s, p + count);
    this.unlock(s);
    return p;
  }

  /** After a reserved transfer moved `actual` of `reserved` bytes: gives the rest back if nobody moved the offset. */
  settle(s: number, start: number, reserved: number, actual: number): void {
    if (actual >= reserved) return;
    this.lock(s);
    if (this.readPos(s) === start + reserved) this.writePos(s, start + Math.max(0, actual));
    this.unlock(s);
  }

  /** O_APPEND writes land at an end of file only the host knows: the next offset use asks for it. */
  markAtEnd(s: number): void {
    Atomics.or(this.i32, this.word(s, S_MISC), POS_AT_END);
  }

  hostAppend(s: number): boolean {
    return (Atomics.load(this.i32, this.word(s, S_MISC)) & HOST_APPEND) !== 0;
  }

  atEnd(s: number): boolean {
    return (Atomics.load(this.i32, this.word(s, S_MISC)) & POS_AT_END) !== 0;
  }

  // ---------------------------------------------------------------- internals

  private word(s: number, field: number): number {
    return HEADER_WORDS + s * SLOT_WORDS + field;
  }

  private clearMisc(s: number, bits: number): void {
    Atomics.and(this.i32, this.word(s, S_MISC), ~bits);
  }

  private lock(s: number): void {
    const w = this.word(s, S_LOCK);
    // Held for a handful of instructions by whoever holds it: spinning is cheaper than waiting.
    while (Atomics.compareExchange(this.i32, w, 0, 1) !== 0);
  }

  private unlock(s: number): void {
    Atomics.store(this.i32, this.word(s, S_LOCK), 0);
  }

  private readPos(s: number): number {
    const lo = Atomics.load(this.i32, this.word(s, S_POS_LO)) >>> 0;
    const hi = Atomics.load(this.i32, this.word(s, S_POS_HI));
    return hi * TWO_32 + lo;
  }

  private writePos(s: number, pos: number): void {
    Atomics.store(this.i32, this.word(s, S_POS_LO), pos >>> 0);
    Atomics.store(this.i32, this.word(s, S_POS_HI), Math.floor(pos / TWO_32) | 0);
  }

  /** Stores a path in a chain of blocks; returns the first block + 1, or 0 when storage is full. */
  private storePath(bytes: Uint8Array): number {
    const need = Math.ceil(bytes.length / BLOCK_DATA);
    const got: number[] = [];
    for (let i = 0; i < need; i++) {
      const b = this.allocBlock();
      if (b < 0) {
        for (const x of got) this.freeBlock(x);
        return 0;
      }
      got.push(b);
    }
    got.forEach((b, i) => {
      const byte = (this.blocksW + b * BLOCK_WORDS) * 4 + 8;
      this.u8.set(bytes.subarray(i * BLOCK_DATA, Math.min(bytes.length, (i + 1) * BLOCK_DATA)), byte);
      Atomics.store(this.i32, this.blocksW + b * BLOCK_WORDS, i + 1 < got.length ? got[i + 1]! + 1 : 0);
    });
    return got[0]! + 1;
  }

  private freePath(head: number): void {
    for (let block = head; block !== 0; ) {
      const b = block - 1;
      block = Atomics.load(this.i32, this.blocksW + b * BLOCK_WORDS);
      this.freeBlock(b);
    }
  }

  private allocBlock(): number {
    const words = this.blocks / 32;
    for (let i = 0; i < words; i++) {
      const w = this.bitmapW + i;
      for (;;) {
        const v = Atomics.load(this.i32, w);
        if (v === -1) break;
        const bit = 31 - Math.clz32(~v & (v + 1)); // lowest zero bit
        if (Atomics.compareExchange(this.i32, w, v, v | (1 << bit)) === v) return i * 32 + bit;
      }
    }
    return -1;
  }

  private freeBlock(b: number): void {
    Atomics.and(this.i32, this.bitmapW + (b >> 5), ~(1 << (b & 31)));
  }
}
