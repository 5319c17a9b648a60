// Content-Type by file-name extension, from the table generated at build time from mime-db
// (scripts/gen-mime.mjs writes mime-types.ts): every extension it knows.
import { MIME_EXTENSIONS, MIME_TYPES } from "./mime-types";

/** Longest extension looked up (mime-db's longest is shorter). */
const MAX_EXT: i32 = 32;

/** The media type for the file whose path is p[0, len) (by its extension, case-insensitive). */
export function contentType(p: usize, len: i32): string {
  let dot = -1;
  for (let i = len - 1; i >= 0; i--) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x2f) break;
    if (c == 0x2e) {
      dot = i;
      break;
    }
  }
  if (dot < 0 || len - dot - 1 > MAX_EXT || len - dot - 1 == 0) return "application/octet-stream";
  const ext = String.UTF8.decodeUnsafe(p + <usize>(dot + 1), <usize>(len - dot - 1)).toLowerCase();
  // Binary search over the sorted extensions (byte order: they are ASCII).
  let lo = 0;
  let hi = MIME_EXTENSIONS.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const cmp = compare(unchecked(MIME_EXTENSIONS[mid]), ext);
    if (cmp == 0) return unchecked(MIME_TYPES[mid]);
    if (cmp < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return "application/octet-stream";
}

/** Byte-order comparison of two ASCII strings (what JavaScript's sort did). */
function compare(a: string, b: string): i32 {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d != 0) return d;
  }
  return a.length - b.length;
}
