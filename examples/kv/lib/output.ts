// A connection's replies, assembled in linear memory. Two buffers take turns: one is being written
// to the socket while the other collects the next replies, so processing never waits for a write
// unless the collecting buffer is over its soft limit.
import { writeU64, writeI64 } from "./numbers";

/** Start size of a buffer; it doubles as needed and returns to this size when it was very large. */
const INITIAL: i32 = 4096;
/** Above this, a drained buffer is replaced by a small one (a big multiget does not stay big). */
const SHRINK_ABOVE: i32 = 256 * 1024;

export class Output {
  buf: ArrayBuffer = new ArrayBuffer(INITIAL);
  len: i32 = 0;

  @inline get base(): usize {
    return changetype<usize>(this.buf);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: i32): void {
    const need = this.len + n;
    const cap = this.buf.byteLength;
    if (need <= cap) return;
    let size = cap * 2;
    while (size < need) size *= 2;
    const bigger = new ArrayBuffer(size);
    memory.copy(changetype<usize>(bigger), changetype<usize>(this.buf), <usize>this.len);
    this.buf = bigger;
  }

  /** Empties the buffer (after its bytes were written). */
  reset(): void {
    this.len = 0;
    if (this.buf.byteLength > SHRINK_ABOVE) this.buf = new ArrayBuffer(INITIAL);
  }

  bytes(p: usize, n: i32): void {
    this.reserve(n);
    memory.copy(this.base + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  /** ASCII text (replies and stats names). */
  str(s: string): void {
    const n = s.length;
    this.reserve(n);
    const d = this.base + <usize>this.len;
    for (let i = 0; i < n; i++) store<u8>(d + <usize>i, <u8>s.charCodeAt(i));
    this.len += n;
  }

  byte(b: u8): void {
    this.reserve(1);
    store<u8>(this.base + <usize>this.len, b);
    this.len++;
  }

  crlf(): void {
    this.reserve(2);
    store<u16>(this.base + <usize>this.len, 0x0a0d);
    this.len += 2;
  }

  u64(v: u64): void {
    this.reserve(20);
    this.len += writeU64(this.base + <usize>this.len, v);
  }

  i64(v: i64): void {
    this.reserve(21);
    this.len += writeI64(this.base + <usize>this.len, v);
  }

  /** A text line followed by CRLF. */
  line(s: string): void {
    this.str(s);
    this.crlf();
  }
}
