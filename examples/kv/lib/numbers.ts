// Decimal numbers read from and written to linear memory, with memcached's acceptance rules
// (strtoull/strtol followed by a check that the whole token was a number).

/** Set by the parsers: whether the token was a valid number. */
export let parseOk: bool = false;

/** An unsigned 64-bit decimal in [p, p+n): digits only (a leading '+' allowed), no overflow. */
export function parseU64(p: usize, n: i32): u64 {
  parseOk = false;
  let i = 0;
  if (n > 0 && load<u8>(p) == 0x2b) i = 1;
  if (i >= n) return 0;
  let v: u64 = 0;
  for (; i < n; i++) {
    const d = <u32>load<u8>(p + <usize>i) - 0x30;
    if (d > 9) return 0;
    // v * 10 + d must fit in 64 bits.
    if (v > 1844674407370955161 || (v == 1844674407370955161 && d > 5)) return 0;
    v = v * 10 + <u64>d;
  }
  parseOk = true;
  return v;
}

/** A signed decimal that fits in i32 (memcached's safe_strtol on an int32_t). */
export function parseI32(p: usize, n: i32): i64 {
  parseOk = false;
  let neg = false;
  let i = 0;
  if (n > 0 && (load<u8>(p) == 0x2d || load<u8>(p) == 0x2b)) {
    neg = load<u8>(p) == 0x2d;
    i = 1;
  }
  if (i >= n) return 0;
  let v: i64 = 0;
  for (; i < n; i++) {
    const d = <u32>load<u8>(p + <usize>i) - 0x30;
    if (d > 9) return 0;
    v = v * 10 + <i64>d;
    if (v > 2147483648) return 0;
  }
  if (neg) v = -v;
  if (v > 2147483647) return 0;
  parseOk = true;
  return v;
}

/** An unsigned 32-bit decimal (client flags). */
export function parseU32(p: usize, n: i32): u32 {
  const v = parseU64(p, n);
  if (!parseOk) return 0;
  if (v > <u64>u32.MAX_VALUE) {
    parseOk = false;
    return 0;
  }
  return <u32>v;
}

/**
 * The number stored in an item's value for incr/decr: optional leading spaces, digits, then the
 * end or trailing spaces (memcached pads a shrunk number with spaces).
 */
export function parseStoredU64(p: usize, n: i32): u64 {
  parseOk = false;
  let i = 0;
  while (i < n && load<u8>(p + <usize>i) == 0x20) i++;
  let j = i;
  while (j < n && <u32>load<u8>(p + <usize>j) - 0x30 <= 9) j++;
  if (j == i || j - i > 20) return 0;
  for (let k = j; k < n; k++) {
    const ch = load<u8>(p + <usize>k);
    if (ch != 0x20 && ch != 0x0d && ch != 0x0a && ch != 0x09) return 0;
  }
  return parseU64(p + <usize>i, j - i);
}

/** Writes `v` in decimal at `p`; returns the number of bytes. */
export function writeU64(p: usize, v: u64): i32 {
  let n = 1;
  let t = v;
  while (t >= 10) {
    t /= 10;
    n++;
  }
  let q = p + <usize>n;
  do {
    q--;
    store<u8>(q, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return n;
}

export function writeI64(p: usize, v: i64): i32 {
  if (v < 0) {
    store<u8>(p, 0x2d);
    return 1 + writeU64(p + 1, <u64>(-v));
  }
  return writeU64(p, <u64>v);
}
