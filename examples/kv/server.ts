// flexvm kv: a memcached-compatible cache server as a flexvm guest, in the style of the paper's
// Figure 4 (its first port was memcached). Every step is a system call posted with a handler:
//
//   accept (several in flight) -> read -> parse and answer every command that has arrived
//   (lib/text.ts, lib/meta.ts; the store in lib/store.ts) -> write the replies -> read ...
//
// A connection has at most one read and one write in flight. Replies collect in one buffer while
// the other is being written, and the next read is posted beside the write, so a request/reply
// exchange hands the kernel its write and the following read in one batch.
//
//   flexvm kv [-p 11211] [-l 127.0.0.1] [-m 64] [-c 1024] [-I 1m] [-t N] [-v|-vv|-vvv] ...
//   flexvm run examples/kv/server.wasm -- [the same memcached options]
//
// It prints "kv: listening on HOST:PORT" to standard error once it accepts connections (-p 0 lets
// the kernel pick the port).
import * as flexsc from "../../guest/flexsc";
import { failed, logLine } from "../lib/args";
import { ConnectionLimit } from "../lib/capacity";
import { parseConfig } from "./lib/config";
import { Store } from "./lib/store";
import { Server, setServer } from "./lib/context";
import { Conn, Writer, S_NREAD } from "./lib/conn";
import { processInput, P_MORE, P_PAUSE, P_CLOSE } from "./lib/text";
export { flexsc_resume } from "../../guest/flexsc";

const config = parseConfig(process.argv);
if (config.exitStatus >= 0) process.exit(config.exitStatus);

const db = new Store(config.memoryMb * 1024 * 1024, config.itemMax, config.minChunk + 48, config.factor, 16);
db.evict = !config.noEvict;
const srv = new Server(config, db);
setServer(srv);
const verbose = config.verbose;

let listenFd: i32 = -1;
const ACCEPTS = 4;

function fail(what: string, r: i64): void {
  failed("kv", what, r);
}

// ------------------------------------------------------------------ accepting

class Acceptor extends flexsc.Request {
  delay: ArrayBuffer = flexsc.timespec(50_000_000);
}

/** Past -c: memcached's fast refusal (an error line, then close). */
class Refusal extends flexsc.Request {
  fd: i32 = -1;
}
const TOO_MANY = String.UTF8.encode("ERROR Too many open connections\r\n");
let refusalLogged = false;
/** What the syscall pages hold: a connection waits on its read; the server on its accepts and its clock. */
const capacity = new ConnectionLimit("kv", 0, 1, ACCEPTS + 1);

/**
 * Past -c, or past what the syscall pages hold: a connection waits on its read, and the accept
 * re-posted after it needs an entry too. Without this check a server whose pages ran out would hold
 * its own accept back and stop answering new clients without a word.
 */
function refuses(): string | null {
  if (srv.currConns >= config.maxConns) return "-c " + config.maxConns.toString() + " reached";
  if (!capacity.pagesHoldOneMore(srv.currConns)) return "its syscall pages hold no more waiting calls (flexvm's --max-pages)";
  return null;
}

function onAccepted(r: flexsc.Request): void {
  if (r.result >= 0) {
    const fd = <i32>r.result;
    const why = refuses();
    if (why !== null) {
      srv.rejectedConns++;
      if (!refusalLogged) {
        refusalLogged = true;
        logLine("kv: refusing new connections, " + srv.currConns.toString() + " open: " + why +
          " (each is answered and closed at once, counted in stats rejected_connections; said again when accepting again)");
      }
      const x = new Refusal(onRefused);
      x.fd = fd;
      flexsc.write(x, fd, flexsc.ptr(TOO_MANY), <u32>TOO_MANY.byteLength);
    } else {
      if (refusalLogged) {
        refusalLogged = false;
        logLine("kv: accepting connections again, " + (srv.currConns + 1).toString() + " open (rejected_connections " + srv.rejectedConns.toString() + ")");
      }
      const c = new Conn(onRead, onWritten);
      c.fd = fd;
      srv.currConns++;
      srv.totalConns++;
      srv.connStructures++;
      if (verbose > 2) logLine("<" + fd.toString() + " new auto-negotiating client connection");
      startRead(c);
    }
  } else if (r.result == -flexsc.ECANCELED || r.result == -flexsc.EBADF) {
    return; // the listener is gone
  } else if (r.result != -flexsc.ECONNABORTED) {
    // Out of descriptors or memory: accepting again at once would spin.
    if (verbose > 0) logLine("kv: accept: " + flexsc.errnoName(r.result));
    r.handler = onAcceptDelay;
    flexsc.nanosleep(r, flexsc.ptr(changetype<Acceptor>(r).delay), 0);
    return;
  }
  flexsc.accept4(r, listenFd, 0, 0, 0);
}

function onAcceptDelay(r: flexsc.Request): void {
  r.handler = onAccepted;
  flexsc.accept4(r, listenFd, 0, 0, 0);
}

function onRefused(r: flexsc.Request): void {
  flexsc.close(null, changetype<Refusal>(r).fd);
}

// ------------------------------------------------------------------ a connection

function startRead(c: Conn): void {
  c.compact();
  flexsc.read(c, c.fd, c.base + <usize>c.rend, <u32>(c.rbuf.byteLength - c.rend));
}

function onRead(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result <= 0 || c.closing) {
    // The client closed or reset (or we are closing): what it still had to say is gone.
    c.closing = true;
    if (r.result <= 0) c.dead = true;
    finish(c);
    return;
  }
  c.rend += <i32>r.result;
  srv.bytesRead += <u64>r.result;
  pump(c);
}

/** Answers what has arrived, hands replies to the writer, and reads more when that is what is missing. */
function pump(c: Conn): void {
  for (;;) {
    const p = processInput(c);
    if (c.out.len > 0 && !c.writer.busy) startWrite(c);
    if (p == P_PAUSE) {
      if (c.writer.busy) return; // the write's handler continues
      continue;
    }
    if (p == P_CLOSE) {
      c.closing = true;
      finish(c);
      return;
    }
    // P_MORE
    if (c.rend - c.rstart >= c.rbuf.byteLength) {
      // A full buffer that cannot be parsed: only a line too long gets here (closed as memcached does).
      c.closing = true;
      finish(c);
      return;
    }
    startRead(c);
    return;
  }
}

/** Swaps the reply buffers and writes the full one. */
function startWrite(c: Conn): void {
  const full = c.out;
  c.out = c.wout;
  c.wout = full;
  c.writer.sent = 0;
  flexsc.write(c.writer, c.fd, full.base, <u32>full.len);
}

function onWritten(r: flexsc.Request): void {
  const w = changetype<Writer>(r);
  const c = w.conn;
  if (r.result < 0) {
    c.closing = true;
    c.dead = true;
    if (c.busy) flexsc.cancel(c);
    finish(c);
    return;
  }
  srv.bytesWritten += <u64>r.result;
  w.sent += <i32>r.result;
  const out = c.wout;
  if (w.sent < out.len) {
    flexsc.write(w, c.fd, out.base + <usize>w.sent, <u32>(out.len - w.sent));
    return;
  }
  out.reset();
  if (c.closing) {
    if (c.out.len > 0 && !c.dead) startWrite(c);
    else finish(c);
    return;
  }
  if (c.out.len > 0) startWrite(c);
  // Processing waits for this write only when it paused; a read in flight means it did not.
  if (!c.busy) pump(c);
}

/** Closes once nothing is in flight and (unless the client is gone) every reply is written. */
function finish(c: Conn): void {
  if (c.closed) return;
  if (c.busy) {
    flexsc.cancel(c); // a pending read: its handler comes back here
    return;
  }
  if (c.writer.busy) return;
  if (!c.dead && c.out.len > 0) {
    startWrite(c);
    return;
  }
  c.closed = true;
  if (c.state == S_NREAD && c.item != 0) {
    // The client left in the middle of a data block: nothing is stored.
    db.release(c.item);
    c.item = 0;
  }
  srv.currConns--;
  if (verbose > 2) logLine("<" + c.fd.toString() + " connection closed.");
  flexsc.close(null, c.fd);
}

// ------------------------------------------------------------------ the clock

/**
 * The store's idea of now, in Unix seconds, from libflexsc's SecondTicker (one waiting call, one
 * wake-up a second). Each tick also reclaims expired items from a slice of the table and moves a
 * growing table along.
 */
const clock = new flexsc.SecondTicker(onSecond);

function onSecond(t: flexsc.SecondTicker): void {
  db.tick(<u32>t.seconds);
}

/** The shutdown command (-A): stop accepting and stop the clock; open connections finish. */
srv.onShutdown = (): void => {
  clock.stop();
  flexsc.close(null, listenFd);
};

// ------------------------------------------------------------------ setting up

const registered = flexsc.init(config.pages, config.pageLimit);
if (registered < 0) fail("registering " + config.pages.toString() + " syscall pages", registered);
srv.pid = <i32>flexsc.processId();

const clockRead = clock.read();
if (clockRead < 0) fail("clock_gettime(CLOCK_REALTIME)", clockRead);
db.now = <u32>clock.seconds;
db.started = db.now;

const fd = flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
if (fd < 0) fail("socket", fd);
listenFd = <i32>fd;
const one = new ArrayBuffer(4);
store<i32>(flexsc.ptr(one), 1);
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.SOL_SOCKET, flexsc.SO_REUSEADDR, <i32>flexsc.ptr(one), 4);
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.IPPROTO_TCP, flexsc.TCP_NODELAY, <i32>flexsc.ptr(one), 4);
const host = config.host == "localhost" ? "127.0.0.1" : config.host;
const hostAddr = flexsc.inetAddr(host);
if (hostAddr < 0) fail("reading -l " + config.host + " as an IPv4 address", -flexsc.EINVAL);
const addr = flexsc.sockaddrIn(config.port, <u32>hostAddr);
let rc = flexsc.syscallSync(flexsc.SYS_bind, listenFd, <i32>flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
if (rc < 0) fail("bind to " + host + ":" + config.port.toString(), rc);
rc = flexsc.syscallSync(flexsc.SYS_listen, listenFd, config.backlog);
if (rc < 0) fail("listen", rc);
const bound = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
const boundLen = new ArrayBuffer(4);
store<u32>(flexsc.ptr(boundLen), flexsc.SOCKADDR_IN_SIZE);
flexsc.syscallSync(flexsc.SYS_getsockname, listenFd, <i32>flexsc.ptr(bound), <i32>flexsc.ptr(boundLen));
logLine("kv: listening on " + host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());
flexsc.ready(host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());

clock.start();
for (let i = 0; i < ACCEPTS; i++) flexsc.accept4(new Acceptor(onAccepted), listenFd, 0, 0, 0);
flexsc.run();
