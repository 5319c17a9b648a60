import { ForwardRing, RING_CAPACITY } from '../placement/forward-ring.js';

/**
 * Memory shared by all threads of one VM (not visible to guests): a doorbell per syscall thread for
 * internal wake-ups, the count of guests still starting (virtual time must not jump while one is),
 * and the forward rings that carry entries from forwarding threads to the kernel's home thread.
 */

const LINE = 16; // words per 64-byte line

export function vmSharedBytes(threads: number): number {
  const lines = threads + 1 + threads; // doorbells, counters, ring headers
  return (lines * LINE + threads * RING_CAPACITY * 2) * 4;
}

export class VmShared {
  readonly i32: Int32Array;
  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly threads: number,
  ) {
    this.i32 = new Int32Array(buffer);
  }

  static create(threads: number): VmShared {
    return new VmShared(new SharedArrayBuffer(vmSharedBytes(threads)), threads);
  }

  doorbellWord(t: number): number {
    return t * LINE;
  }
  needsWakeupWord(t: number): number {
    return t * LINE + 1;
  }
  /** Guests spawned but not yet registered (or exited). */
  get startingWord(): number {
    return this.threads * LINE;
  }

  /** Rings an internal doorbell if thread `t` sleeps. */
  wake(t: number): void {
    if (Atomics.load(this.i32, this.needsWakeupWord(t)) !== 0) {
      Atomics.add(this.i32, this.doorbellWord(t), 1);
      Atomics.notify(this.i32, this.doorbellWord(t)); // all: stale waiters may sit in front
    }
  }

  ring(from: number): ForwardRing {
    const header = (this.threads + 1 + from) * LINE;
    const data = (this.threads * 2 + 1) * LINE + from * RING_CAPACITY * 2;
    return new ForwardRing(this.i32, header, data, from);
  }
}
