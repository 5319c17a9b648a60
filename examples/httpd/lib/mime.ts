// Content-Type by file-name extension.

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
  if (dot < 0 || len - dot - 1 > 8) return "application/octet-stream";
  const ext = String.UTF8.decodeUnsafe(p + <usize>(dot + 1), <usize>(len - dot - 1)).toLowerCase();
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "wasm") return "application/wasm";
  return "application/octet-stream";
}
