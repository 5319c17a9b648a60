// Echo server in the style of the paper's Figure 4: every step is a system call posted to the
// syscall pages with a handler that runs when it completes. Several accepts are kept in flight, and
// an idle connection is closed by cancelling its pending read when its timer fires (section 4.2):
// the timer runs while a read waits and starts again with every read, so only a connection silent
// for --idle-ms is closed, however long it has been busy before.
//
//   flexvm run examples/echo/server.wasm -- [--port 7] [--accepts 4] [--idle-ms 0] [--size 16384]
//                                           [--host 127.0.0.1] [--pages 64] [--backlog 1024] [--verbose]
//                                           [--max-conns 0]
//
// --verbose: a line on standard error when a connection is accepted and when its close completes
// (with why it was closed), so a supervisor or a test can see every connection through to its end.
//
// --pages: syscall pages of 64 entries (calls in flight) to start with. Every idle connection holds
// one entry for its pending read (two with --idle-ms), and calls that wait for the outside world may
// use 7/8 of the entries, so N idle connections need about N / 56 pages (64: some 3,500
// connections); libflexsc adds pages when they run out, up to 1,024 or flexvm's --max-pages.
// Past that, or past --max-conns (0: no limit of its own), a new connection is closed at once,
// counted, and the first refusal logged (examples/lib/capacity.ts); the accepts stay posted.
import * as flexsc from "../../guest/flexsc";
import { Args, failed, logLine } from "../lib/args";
import { IdleTimer } from "../lib/idle-timer";
import { ConnectionLimit } from "../lib/capacity";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args("echo-server");
const port = args.int("port", 7, 0, 65535);
const accepts = args.int("accepts", 4, 1, 4096);
const idleMs = args.int("idle-ms", 0, 0);
const bufSize = args.int("size", 16384, 1, 1 << 24);
const host = args.str("host", "127.0.0.1");
const pages = args.int("pages", 64, 1, 4096);
const backlog = args.int("backlog", 1024, 1);
const verbose = args.has("verbose");
const maxConns = args.int("max-conns", 0, 0);
args.done();

// A connection waits on its read, and on its idle timer with --idle-ms.
const limit = new ConnectionLimit("echo-server", maxConns, idleMs > 0 ? 2 : 1, accepts);

let listenFd: i32 = -1;

class Acceptor extends flexsc.Request {}

class Conn extends flexsc.Request {
  fd: i32 = -1;
  buf: ArrayBuffer = new ArrayBuffer(bufSize);
  offset: i32 = 0;
  pending: i32 = 0;
  /** A read is in flight (the timer may cancel it; never a write). */
  reading: bool = false;
  closed: bool = false;
  /** Why it was closed (--verbose): "eof", "idle", or the error's name. */
  why: string = "";
  timer: IdleTimer<Conn> | null = null;
}

function fail(what: string, r: i64): void {
  failed("echo-server", what, r);
}

function onAccepted(r: flexsc.Request): void {
  if (r.result < 0) {
    if (r.result == -flexsc.ECANCELED || r.result == -flexsc.EBADF) return;
    logLine("echo-server: accept: " + r.result.toString());
  } else if (limit.admit(<i32>r.result)) {
    const c = new Conn(onRead);
    c.fd = <i32>r.result;
    if (verbose) logLine("echo-server: accepted fd " + c.fd.toString());
    startRead(c);
  }
  // Pipeline the next connection right away (paper Figure 4, conn_accepted).
  flexsc.accept4(r, listenFd, 0, 0, 0);
}

function startRead(c: Conn): void {
  c.handler = onRead;
  c.reading = true;
  flexsc.read(c, c.fd, flexsc.ptr(c.buf), bufSize);
  if (idleMs > 0) armTimer(c);
}

/** Starts the idle period of a read that was just submitted. */
function armTimer(c: Conn): void {
  let t = c.timer;
  if (t === null) {
    t = new IdleTimer<Conn>(c, idleMs, onIdle);
    c.timer = t;
  }
  // Still in flight, it was cancelled when the previous read completed (or fired just then): its
  // handler, yet to run, starts the new period.
  t.restart();
}

/** The read completed: its idle period is over. */
function stopTimer(c: Conn): void {
  const t = c.timer;
  if (t !== null) t.stop(); // fired meanwhile: its handler sees no read in flight
}

/**
 * The timer's handler. A fresh read asked for a new period: start it. Otherwise, if the timer ran
 * out (result 0, not cancelled) while a read still waits, cancel that read; its handler closes.
 */
function onIdle(r: flexsc.Request): void {
  const t = changetype<IdleTimer<Conn>>(r);
  const c = t.owner;
  if (c.closed) return;
  if (t.rearm) {
    t.rearm = false;
    if (c.reading) t.arm();
    return;
  }
  if (r.result == 0 && c.reading) flexsc.cancel(c);
}

function closeConn(c: Conn, r: i64): void {
  c.closed = true;
  limit.closed();
  const t = c.timer;
  if (t !== null) t.stop();
  if (!verbose) {
    flexsc.close(null, c.fd); // no handler needed (paper Figure 4, file_sent)
    return;
  }
  // Nothing else is in flight on the connection: its request can carry the close.
  c.why = r == 0 ? "eof" : r == -flexsc.ECANCELED ? "idle" : flexsc.errnoName(r);
  c.handler = onClosed;
  flexsc.close(c, c.fd);
}

function onClosed(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  logLine("echo-server: closed fd " + c.fd.toString() + " (" + c.why + ")" + (r.result < 0 ? ": " + flexsc.errnoName(r.result) : ""));
}

function onRead(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  c.reading = false;
  if (idleMs > 0) stopTimer(c);
  if (r.result <= 0) {
    // 0: the client closed; < 0: reset, or our idle timeout cancelled the read.
    closeConn(c, r.result);
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
    closeConn(c, r.result);
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
const registered = flexsc.init(pages);
if (registered < 0) fail("registering " + pages.toString() + " syscall pages", registered);
const fd = flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
if (fd < 0) fail("socket", fd);
listenFd = <i32>fd;
const one = new ArrayBuffer(4);
store<i32>(flexsc.ptr(one), 1);
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.SOL_SOCKET, flexsc.SO_REUSEADDR, <i32>flexsc.ptr(one), 4);
const hostAddr = flexsc.inetAddr(host);
if (hostAddr < 0) fail("reading --host " + host + " as an IPv4 address", -flexsc.EINVAL);
const addr = flexsc.sockaddrIn(port, <u32>hostAddr);
let rc = flexsc.syscallSync(flexsc.SYS_bind, listenFd, <i32>flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
if (rc < 0) fail("bind to port " + port.toString(), rc);
rc = flexsc.syscallSync(flexsc.SYS_listen, listenFd, backlog);
if (rc < 0) fail("listen", rc);
// With --port 0 the kernel picks the port: report the one we got.
const bound = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
const boundLen = new ArrayBuffer(4);
store<u32>(flexsc.ptr(boundLen), flexsc.SOCKADDR_IN_SIZE);
flexsc.syscallSync(flexsc.SYS_getsockname, listenFd, <i32>flexsc.ptr(bound), <i32>flexsc.ptr(boundLen));
logLine("echo-server: listening on " + host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());
flexsc.ready(host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());

for (let i = 0; i < accepts; i++) flexsc.accept4(new Acceptor(onAccepted), listenFd, 0, 0, 0);
flexsc.run();
