/**
 * A guest's standard input as a stream: a byte ring in shared memory between the thread that reads
 * the embedder's stream (the VM's, host/vm/stdin-feeder.ts: the one producer) and the kernel
 * instances that serve fd 0 (consumers, on any syscall thread). It is what a pipe's buffer is to a
 * process: bounded (a guest that does not read stops the host from reading its source), and a read
 * finds what has arrived so far, waits while nothing has, and reads end of file after the source ended.
 *
 * Layout (Int32 words, then the data):
 *   0  W: bytes ever written (mod 2^32)          1  R: bytes ever taken (mod 2^32)
 *   2  WRITE_GEN: bumped by the producer on every write and at end of stream (consumers wait on it)
 *   3  READ_GEN: bumped by consumers on every take and when they close (the producer waits on it)
 *   4  ENDED: the source ended (no more writes)  5  CLOSED: the reader went away (writes are dropped)
 *   6  WANTED: a consumer has asked for input (the producer starts reading its source only then)
 * Counters wrap at 2^32, so `W - R` (unsigned) is what is buffered. Consumers claim bytes by
 * compare-and-swap of R after copying them out, so two threads never take the same bytes (the os
 * kernel has a fd 0 on every syscall thread); the producer never writes over bytes before R.
 * Each side waits with Atomics.waitAsync on the other's generation word, read before it looked at
 * the state, so no wake-up is lost.
 */
const W = 0;
const R = 1;
const WRITE_GEN = 2;
const READ_GEN = 3;
const ENDED = 4;
const CLOSED = 5;
const WANTED = 6;
const HEADER_BYTES = 32;

/** The ring's data bytes: a Linux pipe's default capacity. */
export const STDIN_RING_BYTES = 64 * 1024;

export class StdinRing {
  private readonly i32: Int32Array;
  private readonly data: Uint8Array;
  private readonly capacity: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    if (buffer.byteLength <= HEADER_BYTES) throw new RangeError('a stdin ring needs room for data');
    this.i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.capacity = this.data.length;
  }

  /** A new, empty ring with `capacity` bytes of data. */
  static create(capacity = STDIN_RING_BYTES): StdinRing {
    return new StdinRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  // ------------------------------------------------------------------ both sides

  /** Bytes buffered now. */
  available(): number {
    return (Atomics.load(this.i32, W) - Atomics.load(this.i32, R)) >>> 0;
  }

  /** The source has ended (what is buffered can still be read). */
  get ended(): boolean {
    return Atomics.load(this.i32, ENDED) !== 0;
  }

  /** The reader has gone (the guest closed fd 0, or it exited). */
  get closed(): boolean {
    return Atomics.load(this.i32, CLOSED) !== 0;
  }

  // ------------------------------------------------------------------ consumers (kernels)

  /** The producer's generation: read it before looking at the ring, then wait on it (whenWritten). */
  writeGeneration(): number {
    return Atomics.load(this.i32, WRITE_GEN);
  }

  /**
   * Takes up to `max` bytes (leaves them buffered with `peek`): a copy, or null when nothing is
   * buffered (then `ended` says whether more may come).
   */
  take(max: number, peek: boolean): Uint8Array | null {
    for (;;) {
      const r = Atomics.load(this.i32, R);
      const n = Math.min(max, (Atomics.load(this.i32, W) - r) >>> 0);
      if (n <= 0) return null;
      const out = new Uint8Array(n);
      const at = (r >>> 0) % this.capacity;
      const first = Math.min(n, this.capacity - at);
      out.set(this.data.subarray(at, at + first), 0);
      if (first < n) out.set(this.data.subarray(0, n - first), first);
      if (peek) return out;
      // Another consumer took bytes meanwhile (and the producer may have reused them): copy again.
      if (Atomics.compareExchange(this.i32, R, r, (r + n) | 0) !== r) continue;
      this.bump(READ_GEN);
      return out;
    }
  }

  /** Asks the producer for input (it reads its source only once someone wants it). */
  want(): void {
    if (Atomics.load(this.i32, WANTED) !== 0) return;
    Atomics.store(this.i32, WANTED, 1);
    Atomics.notify(this.i32, WANTED);
  }

  /** Calls `then` once, after the producer wrote or ended since it was at generation `seen`. */
  whenWritten(seen: number, then: () => void): void {
    waitFor(this.i32, WRITE_GEN, seen, then);
  }

  /** The reader is gone: what the producer still has is dropped, and it stops reading its source. */
  closeReader(): void {
    if (Atomics.exchange(this.i32, CLOSED, 1) === 0) this.bump(READ_GEN);
  }

  // ------------------------------------------------------------------ the producer (the VM)

  /** The consumers' generation: read it before looking at the room, then wait on it (whenTaken). */
  readGeneration(): number {
    return Atomics.load(this.i32, READ_GEN);
  }

  /** Copies what fits of `bytes` in; returns how many (all of them once the reader has gone). */
  put(bytes: Uint8Array): number {
    if (this.closed) return bytes.length;
    const w = Atomics.load(this.i32, W);
    const room = this.capacity - ((w - Atomics.load(this.i32, R)) >>> 0);
    const n = Math.min(room, bytes.length);
    if (n <= 0) return 0;
    const at = (w >>> 0) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    this.data.set(bytes.subarray(0, first), at);
    if (first < n) this.data.set(bytes.subarray(first, n), 0);
    Atomics.store(this.i32, W, (w + n) | 0);
    this.bump(WRITE_GEN);
    return n;
  }

  /** The source ended: readers get end of file once the ring is empty. */
  end(): void {
    if (Atomics.exchange(this.i32, ENDED, 1) === 0) this.bump(WRITE_GEN);
  }

  /** Calls `then` once a consumer asked for input (at once if one did already). */
  whenWanted(then: () => void): void {
    waitFor(this.i32, WANTED, 0, then);
  }

  /** Calls `then` once, after a consumer took bytes or closed since generation `seen`. */
  whenTaken(seen: number, then: () => void): void {
    waitFor(this.i32, READ_GEN, seen, then);
  }

  private bump(word: number): void {
    Atomics.add(this.i32, word, 1);
    Atomics.notify(this.i32, word);
  }
}

/** `then` once i32[word] is no longer `seen` (at once, in a microtask, when it already is not). */
function waitFor(i32: Int32Array, word: number, seen: number, then: () => void): void {
  const waited = Atomics.waitAsync(i32, word, seen);
  if (waited.async) void waited.value.then(() => then());
  else queueMicrotask(then);
}
