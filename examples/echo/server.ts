// Echo server in the style of the paper's Figure 4: every step is a system call posted to the
// syscall pages with a handler that runs when it completes. Several accepts are kept in flight, and
// an idle connection is closed by cancelling its pending read when its timer fires (section 4.2).
//
//   flexvm run examples/echo/server.wasm -- [--port 7] [--accepts 4] [--idle-ms 0] [--size 16384]
import * as flexsc from "../../guest/flexsc";
import { Args, logLine } from "../lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const port = args.int("port", 7);
const accepts = args.int("accepts", 4);
const idleMs = args.int("idle-ms", 0);
const bufSize = args.int("size", 16384);
const host = args.str("host", "127.0.0.1");

let listenFd: i32 = -1;

class Acceptor extends flexsc.Request {}

class Conn extends flexsc.Request {
  fd: i32 = -1;
  buf: ArrayBuffer = new ArrayBuffer(bufSize);
  offset: i32 = 0;
  pending: i32 = 0;
  timer: IdleTimer | null = null;
}

class IdleTimer extends flexsc.Request {
  conn: Conn;
  ts: ArrayBuffer = flexsc.timespec(<i64>idleMs * 1_000_000);
  constructor(conn: Conn) {
    super(onIdle);
    this.conn = conn;
  }
}

function parseAddr(s: string): u32 {
  const parts = s.split(".");
  if (parts.length != 4) return <u32>flexsc.INADDR_LOOPBACK;
  let a: u32 = 0;
  for (let i = 0; i < 4; i++) a = (a << 8) | (<u32>parseInt(parts[i], 10) & 0xff);
  return a;
}

function fail(what: string, r: i64): void {
  logLine("echo-server: " + what + " failed: " + r.toString());
  process.exit(1);
}

function onAccepted(r: flexsc.Request): void {
  if (r.result < 0) {
    if (r.result == -flexsc.ECANCELED || r.result == -flexsc.EBADF) return;
    logLine("echo-server: accept: " + r.result.toString());
  } else {
    const c = new Conn(onRead);
    c.fd = <i32>r.result;
    startRead(c);
  }
  // Pipeline the next connection right away (paper Figure 4, conn_accepted).
  flexsc.accept4(r, listenFd, 0, 0, 0);
}

function startRead(c: Conn): void {
  c.handler = onRead;
  flexsc.read(c, c.fd, flexsc.ptr(c.buf), bufSize);
  if (idleMs > 0) {
    let t = c.timer;
    if (t === null) {
      t = new IdleTimer(c);
      c.timer = t;
    }
    if (!t.busy) flexsc.clock_nanosleep(t, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(t.ts), 0);
  }
}

/** The idle timer fired: if the read is still pending, cancel it; its handler closes. */
function onIdle(r: flexsc.Request): void {
  const t = changetype<IdleTimer>(r);
  if (r.result == 0 && t.conn.busy) flexsc.cancel(t.conn);
}

function closeConn(c: Conn): void {
  const t = c.timer;
  if (t !== null && t.busy) flexsc.cancel(t);
  flexsc.close(null, c.fd); // no handler needed (paper Figure 4, file_sent)
}

function onRead(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result <= 0) {
    // 0: the client closed; < 0: reset, or our idle timeout cancelled the read.
    closeConn(c);
    return;
  }
  c.offset = 0;
  c.pending = <i32>r.result;
  c.handler = onWritten;
  flexsc.write(c, c.fd, flexsc.ptr(c.buf), c.pending);
}

function onWritten(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result < 0) {
    closeConn(c);
    return;
  }
  c.offset += <i32>r.result;
  c.pending -= <i32>r.result;
  if (c.pending > 0) {
    flexsc.write(c, c.fd, flexsc.ptr(c.buf) + <usize>c.offset, c.pending);
    return;
  }
  startRead(c);
}

// Setting up is not performance critical: do it synchronously (as the paper's example does).
flexsc.init();
const fd = flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
if (fd < 0) fail("socket", fd);
listenFd = <i32>fd;
const one = new ArrayBuffer(4);
store<i32>(flexsc.ptr(one), 1);
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.SOL_SOCKET, flexsc.SO_REUSEADDR, <i32>flexsc.ptr(one), 4);
const addr = flexsc.sockaddrIn(port, parseAddr(host));
let rc = flexsc.syscallSync(flexsc.SYS_bind, listenFd, <i32>flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
if (rc < 0) fail("bind to port " + port.toString(), rc);
rc = flexsc.syscallSync(flexsc.SYS_listen, listenFd, 1024);
if (rc < 0) fail("listen", rc);
// With --port 0 the kernel picks the port: report the one we got.
const bound = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
const boundLen = new ArrayBuffer(4);
store<u32>(flexsc.ptr(boundLen), flexsc.SOCKADDR_IN_SIZE);
flexsc.syscallSync(flexsc.SYS_getsockname, listenFd, <i32>flexsc.ptr(bound), <i32>flexsc.ptr(boundLen));
logLine("echo-server: listening on " + host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());

for (let i = 0; i < accepts; i++) flexsc.accept4(new Acceptor(onAccepted), listenFd, 0, 0, 0);
flexsc.run();
