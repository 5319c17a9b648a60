// The access log in nginx's "combined" format, written through the same exception-less calls as
// everything else: lines collect in a buffer that goes out in one write when it is half full, once
// a second (the clock's tick), and at exit (a last synchronous write, when the loop has ended).
//
//   $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
import * as flexsc from "../../../guest/flexsc";

/** Bytes the buffer holds; a flush starts at half of it. Lines that find it full are dropped (counted). */
const LOG_BUF: i32 = 64 * 1024;

/** nginx's escaping of a logged string: `"`, `\` and bytes outside printable ASCII as \xHH. */
function escaped(buf: usize, s: i32, e: i32): string {
  if (e <= s) return "-";
  let out = "";
  for (let i = s; i < e; i++) {
    const c = load<u8>(buf + <usize>i);
    if (c == 0x22 || c == 0x5c || c < 0x20 || c > 0x7e) {
      out += "\\x" + (c < 16 ? "0" : "") + (<u32>c).toString(16).toUpperCase();
    } else out += String.fromCharCode(c);
  }
  return out;
}

function onLogWritten(r: flexsc.Request): void {
  changetype<AccessLog>(r).onWritten();
}

export class AccessLog extends flexsc.Request {
  fd: i32;
  private buf: ArrayBuffer = new ArrayBuffer(LOG_BUF);
  private len: i32 = 0;
  /** Bytes [0, writing) are in a write in flight: lines append after them. */
  private writing: i32 = 0;
  dropped: i64 = 0;
  /** Stopping: every line goes out at once, and the loop does not end before it is written. */
  draining: bool = false;

  constructor(fd: i32) {
    super(onLogWritten);
    this.fd = fd;
  }

  /** One request's line. Strings are read from the connection buffer `buf` at [s, e) offsets. */
  line(addr: string, time: string, buf: usize, reqS: i32, reqE: i32, status: i32, bodyBytes: i64,
       refS: i32, refE: i32, uaS: i32, uaE: i32): void {
    const text = addr + " - - [" + time + "] \"" + escaped(buf, reqS, reqE) + "\" " + status.toString() + " " +
      bodyBytes.toString() + " \"" + escaped(buf, refS, refE) + "\" \"" + escaped(buf, uaS, uaE) + "\"\n";
    const bytes = String.UTF8.encode(text);
    const n = bytes.byteLength;
    if (this.len + n > LOG_BUF) {
      this.dropped++;
      return;
    }
    memory.copy(flexsc.ptr(this.buf) + <usize>this.len, flexsc.ptr(bytes), <usize>n);
    this.len += n;
    if (this.draining || this.len >= LOG_BUF / 2) this.flush();
  }

  /** Starts writing what is buffered, unless a write is in flight (its handler continues). */
  flush(): void {
    if (this.busy || this.len == 0) return;
    this.writing = this.len;
    flexsc.write(this, this.fd, flexsc.ptr(this.buf), <u32>this.writing);
  }

  onWritten(): void {
    const done = this.result > 0 ? <i32>this.result : this.writing; // an error drops what it held
    const left = this.len - done;
    if (left > 0) memory.copy(flexsc.ptr(this.buf), flexsc.ptr(this.buf) + <usize>done, <usize>left);
    this.len = left;
    this.writing = 0;
    if (this.len >= LOG_BUF / 2 || (this.draining && this.len > 0)) this.flush();
  }

  /**
   * At exit, with the loop ended: writes what is left synchronously (nothing after a graceful stop,
   * whose writes were part of the loop: a synchronous call then would be refused by the host).
   */
  flushSync(): void {
    let off = this.busy ? this.writing : 0; // a write still in flight cannot be waited for now
    while (off < this.len) {
      const r = flexsc.syscallSync(flexsc.SYS_write, this.fd, <i32>(flexsc.ptr(this.buf) + <usize>off), this.len - off);
      if (r <= 0) break;
      off += <i32>r;
    }
    this.len = 0;
  }
}
