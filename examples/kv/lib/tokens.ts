// A command line split at spaces, as memcached's tokenizer does it (runs of spaces separate, leading
// spaces are skipped). Tokens are offsets into the connection's input buffer: nothing is copied.

/** memcached keeps at most 24 tokens; a longer line is a malformed command. */
export const MAX_TOKENS: i32 = 24;
export const KEY_MAX: i32 = 250;

export class Tokens {
  base: usize = 0;
  readonly start: StaticArray<i32> = new StaticArray<i32>(MAX_TOKENS);
  readonly end: StaticArray<i32> = new StaticArray<i32>(MAX_TOKENS);
  count: i32 = 0;
  /** More than MAX_TOKENS tokens. */
  overflow: bool = false;
  /** A token replaced by bytes elsewhere (a meta key decoded from base64), or -1. */
  private substituted: i32 = -1;
  private subPtr: usize = 0;
  private subLen: i32 = 0;

  /** Token i reads as the `n` bytes at `p` until the next split. */
  substitute(i: i32, p: usize, n: i32): void {
    this.substituted = i;
    this.subPtr = p;
    this.subLen = n;
  }

  split(base: usize, from: i32, to: i32): void {
    this.base = base;
    this.count = 0;
    this.overflow = false;
    this.substituted = -1;
    let i = from;
    while (i < to) {
      while (i < to && load<u8>(base + <usize>i) == 0x20) i++;
      if (i >= to) break;
      const s = i;
      while (i < to && load<u8>(base + <usize>i) != 0x20) i++;
      if (this.count == MAX_TOKENS) {
        this.overflow = true;
        return;
      }
      unchecked((this.start[this.count] = s));
      unchecked((this.end[this.count] = i));
      this.count++;
    }
  }

  @inline ptr(i: i32): usize {
    if (i == this.substituted) return this.subPtr;
    return this.base + <usize>unchecked(this.start[i]);
  }
  @inline len(i: i32): i32 {
    if (i == this.substituted) return this.subLen;
    return unchecked(this.end[i]) - unchecked(this.start[i]);
  }

  /** Whether token i is exactly the ASCII text `s`. */
  is(i: i32, s: string): bool {
    if (i >= this.count) return false;
    const n = this.len(i);
    if (n != s.length) return false;
    const p = this.ptr(i);
    for (let k = 0; k < n; k++) if (<i32>load<u8>(p + <usize>k) != s.charCodeAt(k)) return false;
    return true;
  }

  /** The last token is "noreply". */
  noreply(): bool {
    return this.count > 0 && this.is(this.count - 1, "noreply");
  }

  /** Token i as a string (diagnostics and rare commands only). */
  text(i: i32): string {
    return String.UTF8.decodeUnsafe(this.ptr(i), <usize>this.len(i));
  }
}

/**
 * A key memcached accepts: 1 to 250 bytes. protocol.txt asks clients for no control characters,
 * but memcached does not check, and real clients (memcaslap) send keys with such bytes: neither
 * does this server. Spaces and newlines cannot reach here (they end a token).
 */
export function validKey(p: usize, n: i32): bool {
  return n > 0 && n <= KEY_MAX;
}
