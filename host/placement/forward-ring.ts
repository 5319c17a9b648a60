/** Records per forward ring. A full ring makes the forwarder keep entries until there is room. */
export const RING_CAPACITY = 8192;
/** Ring record kinds. */
export const FWD_EXECUTE = 0;
export const FWD_CANCEL = 1;

/**
 * Single-producer single-consumer ring of (guest id, entry index, kind) records, from one
 * forwarding thread to the home thread. Indices grow forever (32-bit wrap is harmless because only
 * their difference is used).
 */
export class ForwardRing {
  constructor(
    private readonly i32: Int32Array,
    private readonly header: number,
    private readonly data: number,
    /** The forwarding thread (the descriptor class of its entries). */
    readonly from: number,
  ) {}

  /** Producer: appends a record; false when the ring is full. */
  push(gid: number, index: number, kind: number): boolean {
    const head = Atomics.load(this.i32, this.header);
    const tail = this.i32[this.header + 1]!;
    if (((tail - head) | 0) >= RING_CAPACITY) return false;
    const record = this.data + ((tail >>> 0) % RING_CAPACITY) * 2;
    this.i32[record] = gid;
    this.i32[record + 1] = (index + 1) * 2 + kind; // index -1 is the shim entry
    Atomics.store(this.i32, this.header + 1, (tail + 1) | 0);
    return true;
  }

  /** Consumer: calls `fn` for every record present, then frees them. Returns how many. */
  drain(fn: (gid: number, index: number, kind: number, from: number) => void): number {
    const head = this.i32[this.header]!;
    const tail = Atomics.load(this.i32, this.header + 1);
    let n = 0;
    for (let i = head; i !== tail; i = (i + 1) | 0) {
      const record = this.data + ((i >>> 0) % RING_CAPACITY) * 2;
      const packed = this.i32[record + 1]!;
      fn(this.i32[record]!, (packed >>> 1) - 1, packed & 1, this.from);
      n++;
    }
    if (n) Atomics.store(this.i32, this.header, tail);
    return n;
  }

  get empty(): boolean {
    return Atomics.load(this.i32, this.header) === Atomics.load(this.i32, this.header + 1);
  }
}
