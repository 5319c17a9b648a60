// Base64 (RFC 4648, with padding) for the meta commands' `b` flag: a key given in base64 is decoded
// into binary before it is looked up, and returned (`k`) encoded again, as memcached does.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function value(c: u8): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b) return 62;
  if (c == 0x2f) return 63;
  return -1;
}

/** Decodes `n` base64 bytes at `src` into `dst` (room for `cap` bytes): the length, or -1 if invalid. */
export function base64Decode(src: usize, n: i32, dst: usize, cap: i32): i32 {
  if (n == 0 || (n & 3) != 0) return -1;
  let out = 0;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 == n;
    const a = value(load<u8>(src + <usize>i));
    const b = value(load<u8>(src + <usize>(i + 1)));
    const c3 = load<u8>(src + <usize>(i + 2));
    const c4 = load<u8>(src + <usize>(i + 3));
    if (a < 0 || b < 0) return -1;
    // Padding only at the very end: "xx==" or "xxx=".
    const pad3 = c3 == 0x3d;
    const pad4 = c4 == 0x3d;
    if ((pad3 || pad4) && !last) return -1;
    if (pad3 && !pad4) return -1;
    const c = pad3 ? 0 : value(c3);
    const d = pad4 ? 0 : value(c4);
    if (c < 0 || d < 0) return -1;
    const bytes = pad3 ? 1 : pad4 ? 2 : 3;
    if (out + bytes > cap) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(dst + <usize>out, <u8>(v >> 16));
    if (bytes > 1) store<u8>(dst + <usize>(out + 1), <u8>(v >> 8));
    if (bytes > 2) store<u8>(dst + <usize>(out + 2), <u8>v);
    out += bytes;
  }
  return out;
}

/** The base64 text of `n` bytes at `src`. */
export function base64Encode(src: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i += 3) {
    const left = n - i;
    const v = (<i32>load<u8>(src + <usize>i) << 16) | (left > 1 ? <i32>load<u8>(src + <usize>(i + 1)) << 8 : 0) | (left > 2 ? <i32>load<u8>(src + <usize>(i + 2)) : 0);
    s += ALPHABET.charAt((v >> 18) & 63) + ALPHABET.charAt((v >> 12) & 63);
    s += left > 1 ? ALPHABET.charAt((v >> 6) & 63) : "=";
    s += left > 2 ? ALPHABET.charAt(v & 63) : "=";
  }
  return s;
}
