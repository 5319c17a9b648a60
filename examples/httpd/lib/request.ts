// Parsing an HTTP/1.x request head (request line and header fields) straight from the connection's
// byte buffer, without copying it into strings. RFC 9112's grammar, a little lenient where servers
// usually are: bare LF line ends, empty lines before the request line.

/** The request line may be at most this long (longer: 414 URI Too Long). */
export const MAX_LINE: i32 = 8192;
/** Content-Length values are held here, far past any body limit, before they could overflow. */
export const MAX_BODY_SEEN: i64 = 1_000_000_000_000_000;
/** The whole head may be at most this long (longer: 431 Request Header Fields Too Large). */
export const MAX_HEAD: i32 = 16384;

export const METHOD_GET: i32 = 1;
export const METHOD_HEAD: i32 = 2;
/** A well-formed method this server does not serve (405). */
export const METHOD_OTHER: i32 = 3;

/** Where a header field's value is (its first occurrence), and how many times the field came. */
export class Field {
  start: i32 = 0;
  end: i32 = 0;
  count: i32 = 0;

  reset(): void {
    this.start = 0;
    this.end = 0;
    this.count = 0;
  }

  seen(s: i32, e: i32): void {
    if (this.count++ > 0) return;
    this.start = s;
    this.end = e;
  }
}

/** What the server needs from a request head. Offsets are in the connection's buffer. */
export class HttpRequest {
  method: i32 = 0;
  /** HTTP/1.<minor>. */
  minor: i32 = 1;
  targetStart: i32 = 0;
  targetEnd: i32 = 0;
  /** The connection stays open after the response (1.1 unless "close"; 1.0 with "keep-alive"). */
  keepAlive: bool = false;
  /** Content-Length > 0 or Transfer-Encoding: a body this server does not read. */
  hasBody: bool = false;
  /** Content-Length's value (held at MAX_BODY_SEEN when larger); -1 with Transfer-Encoding. */
  contentLength: i64 = 0;
  /** The end of the head (after its empty line). */
  headEnd: i32 = 0;
  // The fields of conditional and range requests (RFC 9110 13.1, 14.2).
  ifNoneMatch: Field = new Field();
  ifModifiedSince: Field = new Field();
  ifMatch: Field = new Field();
  ifUnmodifiedSince: Field = new Field();
  // For the access log.
  referer: Field = new Field();
  userAgent: Field = new Field();
  /** The end of the request line (without CRLF): the log's "$request". */
  lineStart: i32 = 0;
  lineEnd: i32 = 0;
  range: Field = new Field();
  ifRange: Field = new Field();

  reset(): void {
    this.method = 0;
    this.minor = 1;
    this.targetStart = 0;
    this.targetEnd = 0;
    this.keepAlive = false;
    this.hasBody = false;
    this.contentLength = 0;
    this.headEnd = 0;
    this.ifNoneMatch.reset();
    this.ifModifiedSince.reset();
    this.ifMatch.reset();
    this.ifUnmodifiedSince.reset();
    this.referer.reset();
    this.userAgent.reset();
    this.lineStart = 0;
    this.lineEnd = 0;
    this.range.reset();
    this.ifRange.reset();
  }
}

const CR: u8 = 13;
const LF: u8 = 10;
const SP: u8 = 32;
const HT: u8 = 9;

@inline function at(buf: usize, i: i32): u8 {
  return load<u8>(buf + <usize>i);
}

/** tchar (RFC 9110): the characters of methods and field names. */
function isTchar(c: u8): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e ||
    c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

@inline function lower(c: u8): u8 {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Whether bytes [s, e) equal the lower-case ASCII `word`, ignoring case. */
function equalsNoCase(buf: usize, s: i32, e: i32, word: string): bool {
  if (e - s != word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(at(buf, s + i)) != <u8>word.charCodeAt(i)) return false;
  return true;
}

/** Whether bytes [s, e) are exactly `word`. */
function equalsExact(buf: usize, s: i32, e: i32, word: string): bool {
  if (e - s != word.length) return false;
  for (let i = 0; i < word.length; i++) if (at(buf, s + i) != <u8>word.charCodeAt(i)) return false;
  return true;
}

/** Index of the next LF in [from, end), or -1. */
function findLF(buf: usize, from: i32, end: i32): i32 {
  for (let i = from; i < end; i++) if (at(buf, i) == LF) return i;
  return -1;
}

/** The end of a line's content (without its CR) given the index of its LF. */
@inline function contentEnd(buf: usize, s: i32, lf: i32): i32 {
  return lf > s && at(buf, lf - 1) == CR ? lf - 1 : lf;
}

/** The comma-separated tokens of a Connection header value. */
function connectionTokens(buf: usize, s: i32, e: i32, seen: StaticArray<bool>): void {
  let i = s;
  while (i < e) {
    while (i < e && (at(buf, i) == SP || at(buf, i) == HT || at(buf, i) == 0x2c)) i++;
    const ts = i;
    while (i < e && at(buf, i) != 0x2c) i++;
    let te = i;
    while (te > ts && (at(buf, te - 1) == SP || at(buf, te - 1) == HT)) te--;
    if (equalsNoCase(buf, ts, te, "close")) seen[0] = true;
    else if (equalsNoCase(buf, ts, te, "keep-alive")) seen[1] = true;
  }
}

const connSeen = new StaticArray<bool>(2);

/**
 * Parses the head starting at buf[start] with `end` bytes received. Returns the head's length (the
 * request is in `req` and the next one starts after it), 0 when more bytes are needed, or -status
 * for a request that cannot be served: 400 (malformed), 414 (request line too long), 431 (head
 * too long), 505 (an HTTP major version other than 1).
 */
export function parseHead(buf: usize, start: i32, end: i32, req: HttpRequest): i32 {
  req.reset();
  let p = start;
  // RFC 9112 2.2: a server should ignore empty lines received before the request line.
  while (p < end && (at(buf, p) == CR || at(buf, p) == LF)) p++;
  if (p - start > MAX_LINE) return -400;
  let lf = findLF(buf, p, end);
  // A request line longer than MAX_LINE is a 414. One that has not ended when the whole buffer is
  // full (after empty lines that filled most of it) can never be read: 400, not a read of 0 bytes.
  if (lf < 0) return end - p > MAX_LINE ? -414 : end - start >= MAX_HEAD ? -400 : 0;
  if (lf - p > MAX_LINE) return -414;
  const lineEnd = contentEnd(buf, p, lf);
  req.lineStart = p;
  req.lineEnd = lineEnd;

  // method SP request-target SP HTTP-version
  let i = p;
  while (i < lineEnd && isTchar(at(buf, i))) i++;
  if (i == p || i >= lineEnd || at(buf, i) != SP) return -400;
  if (equalsExact(buf, p, i, "GET")) req.method = METHOD_GET;
  else if (equalsExact(buf, p, i, "HEAD")) req.method = METHOD_HEAD;
  else req.method = METHOD_OTHER;
  i++;
  req.targetStart = i;
  while (i < lineEnd && at(buf, i) > SP && at(buf, i) != 0x7f) i++;
  req.targetEnd = i;
  if (req.targetEnd == req.targetStart || i >= lineEnd || at(buf, i) != SP) return -400;
  i++;
  // "HTTP/" DIGIT "." DIGIT
  if (lineEnd - i != 8 || !equalsExact(buf, i, i + 5, "HTTP/") || at(buf, i + 6) != 0x2e) return -400;
  const major = <i32>at(buf, i + 5) - 0x30;
  const minor = <i32>at(buf, i + 7) - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return -400;
  if (major != 1) return major == 0 ? -400 : -505;
  req.minor = minor;

  // header fields, up to the empty line
  let hasHost = false;
  let contentLength = false;
  connSeen[0] = false;
  connSeen[1] = false;
  let s = lf + 1;
  while (true) {
    lf = findLF(buf, s, end);
    if (lf < 0) return end - start >= MAX_HEAD ? -431 : 0;
    if (lf + 1 - start > MAX_HEAD) return -431;
    const e = contentEnd(buf, s, lf);
    if (e == s) {
      s = lf + 1;
      break;
    }
    // No folded lines (obs-fold) and no whitespace before the colon (RFC 9112 5.1, 5.2).
    let j = s;
    while (j < e && isTchar(at(buf, j))) j++;
    if (j == s || j >= e || at(buf, j) != 0x3a) return -400;
    const nameEnd = j;
    j++;
    while (j < e && (at(buf, j) == SP || at(buf, j) == HT)) j++;
    let ve = e;
    while (ve > j && (at(buf, ve - 1) == SP || at(buf, ve - 1) == HT)) ve--;
    for (let k = j; k < ve; k++) {
      const c = at(buf, k);
      if ((c < SP && c != HT) || c == 0x7f) return -400;
    }
    if (equalsNoCase(buf, s, nameEnd, "host")) {
      if (hasHost) return -400;
      hasHost = true;
    } else if (equalsNoCase(buf, s, nameEnd, "connection")) {
      connectionTokens(buf, j, ve, connSeen);
    } else if (equalsNoCase(buf, s, nameEnd, "content-length")) {
      if (ve == j) return -400;
      let zero = true;
      let n: i64 = 0;
      for (let k = j; k < ve; k++) {
        const c = at(buf, k);
        if (c < 0x30 || c > 0x39) return -400;
        if (c != 0x30) zero = false;
        if (n < MAX_BODY_SEEN) n = n * 10 + <i64>(c - 0x30);
      }
      if (contentLength) return -400;
      contentLength = true;
      req.contentLength = n;
      if (!zero) req.hasBody = true;
    } else if (equalsNoCase(buf, s, nameEnd, "transfer-encoding")) {
      req.hasBody = true;
      req.contentLength = -1;
    } else if (equalsNoCase(buf, s, nameEnd, "if-none-match")) {
      req.ifNoneMatch.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "if-modified-since")) {
      req.ifModifiedSince.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "if-match")) {
      req.ifMatch.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "if-unmodified-since")) {
      req.ifUnmodifiedSince.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "referer")) {
      req.referer.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "user-agent")) {
      req.userAgent.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "range")) {
      req.range.seen(j, ve);
    } else if (equalsNoCase(buf, s, nameEnd, "if-range")) {
      req.ifRange.seen(j, ve);
    }
    s = lf + 1;
  }
  // HTTP/1.1 requires Host (RFC 9112 3.2).
  if (minor >= 1 && !hasHost) return -400;
  req.keepAlive = minor >= 1 ? !connSeen[0] : connSeen[1] && !connSeen[0];
  req.headEnd = s;
  return s - start;
}

/**
 * The next `name` field (lower-case) of a parsed head, searching the lines from the one that holds
 * offset `from` up to `headEnd`: its value goes to out.start and out.end. False when there is none.
 */
export function nextField(buf: usize, from: i32, headEnd: i32, name: string, out: Field): bool {
  let lf = findLF(buf, from, headEnd);
  while (lf >= 0) {
    const s = lf + 1;
    lf = findLF(buf, s, headEnd);
    if (lf < 0) break;
    const e = contentEnd(buf, s, lf);
    let j = s;
    while (j < e && at(buf, j) != 0x3a) j++;
    if (j >= e || !equalsNoCase(buf, s, j, name)) continue;
    j++;
    while (j < e && (at(buf, j) == SP || at(buf, j) == HT)) j++;
    let ve = e;
    while (ve > j && (at(buf, ve - 1) == SP || at(buf, ve - 1) == HT)) ve--;
    out.start = j;
    out.end = ve;
    return true;
  }
  return false;
}
