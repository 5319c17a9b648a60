import type { ByteSink } from './iovec.js';

/**
 * A FIFO of byte chunks (pipes, socket receive queues). Chunks are kept as they arrived, without a
 * ring or a copy: an idle connection holds no buffer at all, and a read copies straight from the
 * chunks into the guest's buffers. Capacity limits are the owner's business.
 */
export class ByteQueue {
  private chunks: Uint8Array[] | null = null;
  /** Index of the first live chunk, and bytes of it already consumed. */
  private first = 0;
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Appends `data`, taking ownership of it (a private copy, or a Buffer Node handed over). */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    (this.chunks ??= []).push(data);
    this.size += data.length;
  }

  /** Copies up to `sink.length` bytes into `sink` from offset 0; consumes them unless `peek`. */
  copyTo(sink: ByteSink, peek: boolean): number {
    const chunks = this.chunks;
    const want = Math.min(sink.length, this.size);
    if (chunks === null || want === 0) return 0;
    let done = 0;
    let i = this.first;
    let at = this.head;
    while (done < want) {
      const c = chunks[i]!;
      const n = Math.min(c.length - at, want - done);
      sink.write(done, c.subarray(at, at + n));
      done += n;
      at += n;
      if (at === c.length) {
        i++;
        at = 0;
      }
    }
    if (!peek) this.consume(i, at, done);
    return done;
  }

  clear(): void {
    this.chunks = null;
    this.first = 0;
    this.head = 0;
    this.size = 0;
  }

  private consume(i: number, at: number, n: number): void {
    const chunks = this.chunks!;
    for (let j = this.first; j < i; j++) chunks[j] = EMPTY; // let the consumed chunks go
    this.first = i;
    this.head = at;
    this.size -= n;
    if (this.size === 0) this.clear();
    else if (this.first > 64 && this.first * 2 > chunks.length) {
      this.chunks = chunks.slice(this.first);
      this.first = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
