// Validators of a file (RFC 9110 8.8) and the conditions a request puts on them (13.1, 13.2):
// ETag and Last-Modified, If-Match and If-Unmodified-Since (412), If-None-Match and
// If-Modified-Since (304), and If-Range, evaluated in the order of RFC 9110 13.2.2.
import { HttpRequest, Field, nextField } from "./request";
import { parseHttpDate, INVALID_DATE } from "./date";

@inline function at(buf: usize, i: i32): u8 {
  return load<u8>(buf + <usize>i);
}

/**
 * A strong entity tag for a file, from its modification time and size the way nginx makes one:
 * "<mtime hex>-<size hex>". A change within the same second that keeps the size is not seen.
 */
export function entityTag(mtime: i64, size: i64): string {
  return "\"" + mtime.toString(16) + "-" + size.toString(16) + "\"";
}

/** Whether bytes [s, e) are exactly `tag` (an opaque-tag with its quotes). */
function sameTag(buf: usize, s: i32, e: i32, tag: string): bool {
  if (e - s != tag.length) return false;
  for (let i = 0; i < tag.length; i++) if (at(buf, s + i) != <u8>tag.charCodeAt(i)) return false;
  return true;
}

/**
 * Whether the If-None-Match list buf[s, e) ("*", or entity tags separated by commas) names `tag`
 * by weak comparison (13.1.2: "W/" does not matter). A malformed list matches nothing from where
 * it goes wrong.
 */
function listMatches(buf: usize, s: i32, e: i32, tag: string, strong: bool = false): bool {
  let i = s;
  while (i < e) {
    const c = at(buf, i);
    if (c == 0x20 || c == 0x09 || c == 0x2c) {
      i++;
      continue;
    }
    if (c == 0x2a) return true; // "*": any current representation, and the file exists
    let weak = false;
    if (c == 0x57 && i + 1 < e && at(buf, i + 1) == 0x2f) {
      i += 2; // W/
      weak = true;
    }
    if (i >= e || at(buf, i) != 0x22) return false;
    let q = i + 1;
    while (q < e && at(buf, q) != 0x22) q++;
    if (q >= e) return false;
    // Strong comparison (If-Match): a weak tag never matches.
    if (!(strong && weak) && sameTag(buf, i, q + 1, tag)) return true;
    i = q + 1;
  }
  return false;
}

const more = new Field();

/** Whether any `name` field of the request (the first is `f`) lists `tag`. */
function anyListMatches(buf: usize, req: HttpRequest, f: Field, name: string, tag: string, strong: bool): bool {
  if (listMatches(buf, f.start, f.end, tag, strong)) return true;
  let from = f.end;
  for (let n = 1; n < f.count && nextField(buf, from, req.headEnd, name, more); n++) {
    if (listMatches(buf, more.start, more.end, tag, strong)) return true;
    from = more.end;
  }
  return false;
}

/**
 * 13.2.2, steps 1 and 2: whether the answer is 412 Precondition Failed. If-Match (strong
 * comparison; "*" holds for any existing file) decides when present; otherwise If-Unmodified-Since,
 * a single valid date, fails when the file was modified after it.
 */
export function preconditionFailed(buf: usize, req: HttpRequest, tag: string, lastModified: i64, now: i64): bool {
  const im = req.ifMatch;
  if (im.count > 0) return !anyListMatches(buf, req, im, "if-match", tag, true);
  const ius = req.ifUnmodifiedSince;
  if (ius.count != 1) return false;
  const t = parseHttpDate(buf, ius.start, ius.end, now);
  if (t == INVALID_DATE) return false; // an invalid date is ignored (13.1.4)
  return lastModified > t;
}

/**
 * 13.2.2, steps 3 and 4 for GET and HEAD: whether the answer is 304 Not Modified. If-None-Match
 * decides when present (its fields form one list); otherwise If-Modified-Since, when it is a single
 * valid date no later than `now`, holds if the file was not modified after it.
 */
export function notModified(buf: usize, req: HttpRequest, tag: string, lastModified: i64, now: i64): bool {
  const inm = req.ifNoneMatch;
  if (inm.count > 0) {
    if (listMatches(buf, inm.start, inm.end, tag)) return true;
    let from = inm.end;
    for (let n = 1; n < inm.count && nextField(buf, from, req.headEnd, "if-none-match", more); n++) {
      if (listMatches(buf, more.start, more.end, tag)) return true;
      from = more.end;
    }
    return false;
  }
  const ims = req.ifModifiedSince;
  if (ims.count != 1) return false; // none, or several: ignored (13.1.3)
  const t = parseHttpDate(buf, ims.start, ims.end, now);
  // A date ahead of our clock cannot come from a Last-Modified we sent: ignored, as Apache does.
  if (t == INVALID_DATE || t > now) return false;
  return lastModified <= t;
}

/**
 * 13.1.5: whether a Range may be served. Without If-Range, yes; with it, only when it names the
 * file as it is now: the same strong entity tag (a weak one never matches), or exactly its
 * Last-Modified date. Otherwise the whole file is sent.
 */
export function ifRangeHolds(buf: usize, req: HttpRequest, tag: string, lastModified: i64, now: i64): bool {
  const f = req.ifRange;
  if (f.count == 0) return true;
  if (f.count > 1 || f.end == f.start) return false;
  if (at(buf, f.start) == 0x22) return sameTag(buf, f.start, f.end, tag);
  if (at(buf, f.start) == 0x57 && f.end - f.start > 1 && at(buf, f.start + 1) == 0x2f) return false; // W/"..."
  const t = parseHttpDate(buf, f.start, f.end, now);
  return t != INVALID_DATE && t == lastModified;
}
