// The Range header (RFC 9110 14.1, 14.2) for one file of a known size: a set of "a-b", "a-" and
// "-n" specs. One satisfiable range is served as a 206 with Content-Range; several as a 206 with a
// multipart/byteranges body (14.6), in the order asked. Specs past the end are dropped; when none is
// left the answer is 416. A server may ignore Range (14.2), and this one serves the whole file for a
// header that is not valid, and for sets that are costly and useless (RFC 9110 15.3.7: many small or
// overlapping ranges): more than MAX_RANGES specs, or parts adding up to more than the file.

/** Serve the whole file: no Range, an invalid one, an abusive set, or a unit other than bytes. */
export const RANGE_NONE: i32 = 0;
/** Serve the parts in `out` (one: a plain 206; several: multipart/byteranges). */
export const RANGE_PART: i32 = 1;
// 416 with "Content-Range: bytes */SIZE": every range starts past the end (or the file is empty).
export const RANGE_UNSATISFIABLE: i32 = 2;

/** The most specs a Range may hold and still be served as ranges. */
export const MAX_RANGES: i32 = 16;

/** The parts of the file to send, in order: bytes first[i] to last[i], both included. */
export class ByteRanges {
  first: StaticArray<i64> = new StaticArray<i64>(MAX_RANGES);
  last: StaticArray<i64> = new StaticArray<i64>(MAX_RANGES);
  count: i32 = 0;
}

/** Larger numbers are held at this value (far past any file: unsatisfiable, or clamped to the end). */
const HUGE: i64 = 1_000_000_000_000_000_000;

@inline function at(buf: usize, i: i32): u8 {
  return load<u8>(buf + <usize>i);
}

@inline function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

@inline function isOws(c: u8): bool {
  return c == 0x20 || c == 0x09;
}

class Num {
  value: i64 = 0;
  end: i32 = 0;
}

/** Reads the digits at buf[i] into `out` (its value and where it ends); false when there is none. */
function number(buf: usize, i: i32, e: i32, out: Num): bool {
  if (i >= e || !isDigit(at(buf, i))) return false;
  let v: i64 = 0;
  while (i < e && isDigit(at(buf, i))) {
    // Held before it can overflow.
    v = v >= HUGE / 10 ? HUGE : v * 10 + <i64>(at(buf, i) - 0x30);
    i++;
  }
  out.value = v;
  out.end = i;
  return true;
}

const num = new Num();

/**
 * Reads the Range value buf[s, e) against a file of `size` bytes: RANGE_PART with the satisfiable
 * parts in `out`, RANGE_UNSATISFIABLE, or RANGE_NONE (serve the whole file).
 */
export function parseRange(buf: usize, s: i32, e: i32, size: i64, out: ByteRanges): i32 {
  out.count = 0;
  // "bytes" is case-insensitive (range-unit is a token compared without case).
  if (e - s < 6) return RANGE_NONE;
  const unit = "bytes=";
  for (let k = 0; k < 6; k++) {
    let c = at(buf, s + k);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (c != <u8>unit.charCodeAt(k)) return RANGE_NONE;
  }
  let i = s + 6;
  let specs = 0;
  let total: i64 = 0;
  // A list: specs separated by commas with optional whitespace; empty elements are allowed.
  while (i < e) {
    const c = at(buf, i);
    if (isOws(c) || c == 0x2c) {
      i++;
      continue;
    }
    if (++specs > MAX_RANGES) return RANGE_NONE;
    let first: i64 = 0;
    let last: i64 = 0;
    let suffix = false;
    if (c == 0x2d) {
      // suffix-range: the last n bytes.
      if (!number(buf, i + 1, e, num)) return RANGE_NONE;
      suffix = true;
      last = num.value;
      i = num.end;
    } else {
      // int-range: first-pos "-" [last-pos]
      if (!number(buf, i, e, num)) return RANGE_NONE;
      first = num.value;
      i = num.end;
      if (i >= e || at(buf, i) != 0x2d) return RANGE_NONE;
      i++;
      if (number(buf, i, e, num)) {
        last = num.value;
        i = num.end;
        if (last < first) return RANGE_NONE; // invalid (RFC 9110 14.1.1)
      } else {
        last = HUGE;
      }
    }
    // Only whitespace or a comma may follow a spec.
    if (i < e && !isOws(at(buf, i)) && at(buf, i) != 0x2c) return RANGE_NONE;
    // RFC 9110 14.1.1 lets a suffix of an empty file through, but no 206 can describe zero bytes:
    // such a spec, a zero-length suffix and one starting past the end are not satisfiable.
    if (size <= 0) continue;
    if (suffix) {
      if (last == 0) continue;
      first = last >= size ? 0 : size - last;
      last = size - 1;
    } else {
      if (first >= size) continue;
      if (last >= size) last = size - 1;
    }
    total += last - first + 1;
    if (total > size && out.count > 0) return RANGE_NONE; // overlapping parts adding up to more than the file
    unchecked((out.first[out.count] = first));
    unchecked((out.last[out.count] = last));
    out.count++;
  }
  if (specs == 0) return RANGE_NONE;
  return out.count > 0 ? RANGE_PART : RANGE_UNSATISFIABLE;
}
