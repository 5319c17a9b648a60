// HTTP dates (RFC 9110 5.6.7): formatting the IMF-fixdate that Date and Last-Modified carry, and
// reading the three forms a recipient must accept (If-Modified-Since, If-Range):
//
//   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT   (obsolete)
//   asctime      Sun Nov  6 08:49:37 1994         (obsolete)
//
// Times are seconds since the epoch (UTC, no leap seconds), years 1 to 9999.

/** What parseHttpDate returns for a value that is not an HTTP date. */
export const INVALID_DATE: i64 = i64.MIN_VALUE;

const DAY_NAMES: StaticArray<string> = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_NAMES: StaticArray<string> = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** Days before the first of each month in a common year. */
const MONTH_START: StaticArray<i32> = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

const SECONDS_PER_DAY: i64 = 86400;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
const MIN_TIME: i64 = -62135596800;
const MAX_TIME: i64 = 253402300799;

@inline function isLeap(y: i64): bool {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/** Leap years in 1..y (y >= 0). */
@inline function leapsThrough(y: i64): i64 {
  return y / 4 - y / 100 + y / 400;
}

function daysInMonth(y: i64, m: i32): i32 {
  if (m == 2) return isLeap(y) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

/** Days from 1970-01-01 to y-m-d (m 1-12, d 1-31, y >= 1). */
function daysFromCivil(y: i64, m: i32, d: i32): i64 {
  let days = 365 * (y - 1970) + leapsThrough(y - 1) - leapsThrough(1969);
  days += <i64>unchecked(MONTH_START[m - 1]) + <i64>(d - 1);
  if (m > 2 && isLeap(y)) days++;
  return days;
}

function floorDiv(a: i64, b: i64): i64 {
  const q = a / b;
  return a % b < 0 ? q - 1 : q;
}

function pad2(n: i64): string {
  return n < 10 ? "0" + n.toString() : n.toString();
}

function pad4(n: i64): string {
  let s = n.toString();
  while (s.length < 4) s = "0" + s;
  return s;
}

/** The year (1-9999) of the day `days` after 1970-01-01. */
function yearOf(days: i64): i64 {
  // An estimate from the average length of a year, then corrected by a step or two.
  let y: i64 = 1970 + floorDiv(days * 400, 146097);
  if (y < 1) y = 1;
  if (y > 9999) y = 9999;
  while (y > 1 && daysFromCivil(y, 1, 1) > days) y--;
  while (y < 9999 && daysFromCivil(y + 1, 1, 1) <= days) y++;
  return y;
}

/** The calendar fields of a time, set by civil(). */
let cYear: i64 = 0;
let cMonth: i32 = 0;
let cDay: i64 = 0;
let cWday: i32 = 0;
let cSecs: i64 = 0;

/** Splits `t` (seconds since the epoch, clamped to years 1-9999) into the c* fields above. */
function civil(t: i64): void {
  if (t < MIN_TIME) t = MIN_TIME;
  if (t > MAX_TIME) t = MAX_TIME;
  const days = floorDiv(t, SECONDS_PER_DAY);
  cSecs = t - days * SECONDS_PER_DAY;
  const y = yearOf(days);
  let doy = days - daysFromCivil(y, 1, 1);
  const leap = isLeap(y);
  let m = 12;
  while (m > 1) {
    let start = <i64>unchecked(MONTH_START[m - 1]);
    if (m > 2 && leap) start++;
    if (doy >= start) {
      doy -= start;
      break;
    }
    m--;
  }
  cYear = y;
  cMonth = m;
  cDay = doy + 1;
  // 1970-01-01 was a Thursday.
  cWday = <i32>(days + 4 - floorDiv(days + 4, 7) * 7);
}

function clock(secs: i64): string {
  return pad2(secs / 3600) + ":" + pad2((secs / 60) % 60) + ":" + pad2(secs % 60);
}

/** `t` (seconds since the epoch) as an IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
export function httpDate(t: i64): string {
  civil(t);
  return unchecked(DAY_NAMES[cWday]) + ", " + pad2(cDay) + " " + unchecked(MONTH_NAMES[cMonth - 1]) + " " + pad4(cYear) + " " + clock(cSecs) + " GMT";
}

/** `t` as nginx's $time_local in UTC, e.g. "06/Nov/1994:08:49:37 +0000" (the access log's time). */
export function logDate(t: i64): string {
  civil(t);
  return pad2(cDay) + "/" + unchecked(MONTH_NAMES[cMonth - 1]) + "/" + pad4(cYear) + ":" + clock(cSecs) + " +0000";
}

// ------------------------------------------------------------------ parsing

@inline function at(buf: usize, i: i32): u8 {
  return load<u8>(buf + <usize>i);
}

@inline function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

@inline function isAlpha(c: u8): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** The value of the n digits at buf[i], or -1 when they are not all digits (or out of [i, e)). */
function digits(buf: usize, i: i32, e: i32, n: i32): i32 {
  if (i + n > e) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = at(buf, i + k);
    if (!isDigit(c)) return -1;
    v = v * 10 + <i32>(c - 0x30);
  }
  return v;
}

/** The month (1-12) named by the three letters at buf[i] (case-sensitive, as RFC 9110 has it), or 0. */
function month(buf: usize, i: i32, e: i32): i32 {
  if (i + 3 > e) return 0;
  for (let m = 0; m < 12; m++) {
    const name = unchecked(MONTH_NAMES[m]);
    if (at(buf, i) == <u8>name.charCodeAt(0) && at(buf, i + 1) == <u8>name.charCodeAt(1) && at(buf, i + 2) == <u8>name.charCodeAt(2)) return m + 1;
  }
  return 0;
}

/** Seconds of the day in "HH:MM:SS" at buf[i], or -1. A leap second (60) is accepted. */
function timeOfDay(buf: usize, i: i32, e: i32): i32 {
  if (i + 8 > e || at(buf, i + 2) != 0x3a || at(buf, i + 5) != 0x3a) return -1;
  const h = digits(buf, i, e, 2);
  const m = digits(buf, i + 3, e, 2);
  const s = digits(buf, i + 6, e, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60) return -1;
  return h * 3600 + m * 60 + s;
}

function assemble(y: i64, m: i32, d: i32, secs: i32): i64 {
  if (y < 1 || y > 9999 || m < 1 || d < 1 || d > daysInMonth(y, m) || secs < 0) return INVALID_DATE;
  return daysFromCivil(y, m, d) * SECONDS_PER_DAY + <i64>secs;
}

/**
 * The time buf[s, e) stands for, in seconds since the epoch, or INVALID_DATE. `now` (seconds) places
 * an rfc850-date's two-digit year: a year that would lie more than 50 years ahead is in the past.
 * The day name is not checked against the date (senders get it right or it does not matter).
 */
export function parseHttpDate(buf: usize, s: i32, e: i32, now: i64): i64 {
  let i = s;
  while (i < e && isAlpha(at(buf, i))) i++;
  const nameLen = i - s;
  if (nameLen < 3 || nameLen > 9 || i >= e) return INVALID_DATE;
  if (at(buf, i) == 0x2c) {
    // IMF-fixdate or rfc850-date: ", DD Mon YYYY " or ", DD-Mon-YY ", then the time and "GMT".
    if (i + 2 > e || at(buf, i + 1) != 0x20) return INVALID_DATE;
    i += 2;
    const d = digits(buf, i, e, 2);
    if (d < 0 || i + 3 > e) return INVALID_DATE;
    const sep = at(buf, i + 2);
    if (sep != 0x20 && sep != 0x2d) return INVALID_DATE;
    const m = month(buf, i + 3, e);
    if (m == 0 || i + 7 > e || at(buf, i + 6) != sep) return INVALID_DATE;
    i += 7;
    let y: i64;
    if (sep == 0x20) {
      const yy = digits(buf, i, e, 4);
      if (yy < 0) return INVALID_DATE;
      y = yy;
      i += 4;
    } else {
      const yy = digits(buf, i, e, 2);
      if (yy < 0) return INVALID_DATE;
      const nowYear = yearOf(floorDiv(now, SECONDS_PER_DAY));
      y = nowYear - nowYear % 100 + yy;
      if (y > nowYear + 50) y -= 100;
      i += 2;
    }
    if (i + 13 != e || at(buf, i) != 0x20 || at(buf, i + 9) != 0x20) return INVALID_DATE;
    if (at(buf, i + 10) != 0x47 || at(buf, i + 11) != 0x4d || at(buf, i + 12) != 0x54) return INVALID_DATE; // GMT
    return assemble(y, m, d, timeOfDay(buf, i + 1, e));
  }
  // asctime: " Mon DD HH:MM:SS YYYY", the day padded with a space ("Nov  6").
  if (nameLen != 3 || at(buf, i) != 0x20 || i + 21 != e) return INVALID_DATE;
  const m = month(buf, i + 1, e);
  if (m == 0 || at(buf, i + 4) != 0x20) return INVALID_DATE;
  const d = at(buf, i + 5) == 0x20 ? digits(buf, i + 6, e, 1) : digits(buf, i + 5, e, 2);
  if (d < 0 || at(buf, i + 7) != 0x20 || at(buf, i + 16) != 0x20) return INVALID_DATE;
  const y = digits(buf, i + 17, e, 4);
  if (y < 0) return INVALID_DATE;
  return assemble(y, m, d, timeOfDay(buf, i + 8, e));
}
