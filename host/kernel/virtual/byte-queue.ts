/**
 * A FIFO of bytes for pipes and socket receive buffers. Chunks are kept as written (no fixed ring),
 * so an idle connection costs nothing; capacity limits are the owner's business.
 */
export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already consumed. */
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Appends `data`, taking ownership of it (callers pass a private copy). */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
  }

  /** A copy of the first `n` bytes (at most `length`); removes them unless `peek`. */
  take(n: number, peek = false): Uint8Array {
    const count = Math.min(n, this.size);
    const out = new Uint8Array(count);
    let filled = 0;
    let index = 0;
    let offset = this.head;
    while (filled < count) {
      const chunk = this.chunks[index]!;
      const k = Math.min(chunk.length - offset, count - filled);
      out.set(chunk.subarray(offset, offset + k), filled);
      filled += k;
      offset += k;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (!peek) {
      this.chunks.splice(0, index);
      this.head = offset;
      this.size -= count;
    }
    return out;
  }

  clear(): void {
    this.chunks.length = 0;
    this.head = 0;
    this.size = 0;
  }
}
