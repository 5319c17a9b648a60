// From a request target to a file path under the document root: the path part of the target
// (query and fragment cut off), percent-decoded, then normalised lexically ("." and empty names
// vanish, ".." removes the previous name). A ".." that would climb above the root is refused (403):
// the guest never asks the kernel for anything outside the root, and the kernel's sandbox is the
// second line of defence. Works on bytes: names that are not UTF-8 reach the kernel unchanged.

@inline function at(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

function hexValue(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Whether bytes [s, s + word.length) are `word`, ignoring the case of ASCII letters. */
function startsWithNoCase(p: usize, s: i32, e: i32, word: string): bool {
  if (e - s < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = at(p, s + i);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (c != <u8>word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Writes the normalised path of the target src[start, end) to out[0..], beginning with "/" and
 * keeping a final "/" when the target had one (a directory is wanted). Returns its length, or
 * -status: 400 (not an origin- or absolute-form target, a bad %-escape, an encoded NUL), 403 (".."
 * above the root), 414 (longer than `cap`).
 */
export function normalizeTarget(src: usize, start: i32, end: i32, out: usize, cap: i32): i32 {
  let s = start;
  // absolute-form (RFC 9112 3.2.2): "http://host/path": the path is what follows the authority.
  if (startsWithNoCase(src, s, end, "http://") || startsWithNoCase(src, s, end, "https://")) {
    s += at(src, s + 4) == 0x3a ? 7 : 8;
    while (s < end && at(src, s) != 0x2f && at(src, s) != 0x3f && at(src, s) != 0x23) s++;
    if (s == end || at(src, s) != 0x2f) {
      // "http://host" or "http://host?q": the root.
      if (cap < 1) return -414;
      store<u8>(out, 0x2f);
      return 1;
    }
  }
  if (s >= end || at(src, s) != 0x2f) return -400;
  let e = s;
  while (e < end && at(src, e) != 0x3f && at(src, e) != 0x23) e++;

  if (cap < 1) return -414;
  store<u8>(out, 0x2f);
  let o = 1; // out[0, o) is the path so far; it always ends with "/" between names
  let name = 1; // where the current name starts in out
  let lastSlash = false;
  let i = s;
  while (true) {
    let c: i32;
    if (i < e) {
      c = at(src, i++);
      if (c == 0x25) {
        if (i + 2 > e) return -400;
        const hi = hexValue(at(src, i));
        const lo = hexValue(at(src, i + 1));
        if (hi < 0 || lo < 0) return -400;
        c = (hi << 4) | lo;
        i += 2;
        if (c == 0) return -400;
      }
      lastSlash = c == 0x2f;
    } else {
      c = -1; // the end: finish the last name as if a "/" followed
    }
    if (c == 0x2f || c < 0) {
      const len = o - name;
      if (len == 1 && load<u8>(out + <usize>name) == 0x2e) {
        o = name; // "."
      } else if (len == 2 && load<u16>(out + <usize>name) == 0x2e2e) {
        // "..": drop it and the name before it; at the root there is none to drop.
        if (name == 1) return -403;
        o = name - 1;
        while (o > 0 && load<u8>(out + <usize>(o - 1)) != 0x2f) o--;
      } else if (len > 0) {
        if (o >= cap) return -414;
        store<u8>(out + <usize>o, 0x2f);
        o++;
      }
      name = o;
      if (c < 0) break;
      continue;
    }
    if (o >= cap) return -414;
    store<u8>(out + <usize>o, <u8>c);
    o++;
  }
  // out ends with "/" (or is "/"): keep it only when the target asked for a directory.
  if (o > 1 && !lastSlash) o--;
  return o;
}
