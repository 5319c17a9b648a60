// A small static file server (nginx-like) in the style of the paper's Figure 4: every step is a
// system call posted to the syscall pages with a handler that runs when it completes.
//
//   accept (several in flight) -> read the request -> parse -> openat the file under the root ->
//   fstat -> write the response head (200, 206, 304, 416) -> sendfile the body (or its range) ->
//   next request (keep-alive, pipelining) or close
//
// HTTP/1.0 and 1.1, GET and HEAD. Connections stay open by default in 1.1 and with
// "Connection: keep-alive" in 1.0 (as ApacheBench sends it); pipelined requests are answered in
// order. A directory serves its index.html (403 without one: no listings). Paths are percent-decoded
// and normalised here, and a ".." above the root is refused (403); the kernel's sandbox only lets
// the guest see the directories granted with --dir anyway.
//
// What caches and download tools expect of an origin server (RFC 9110, 9111):
//   * Date on every response. A clock request keeps it current (read CLOCK_REALTIME, sleep until
//     the next second, read again): no call per response, one sleep in flight.
//   * Last-Modified (fstat's mtime) and an ETag "<mtime hex>-<size hex>" on 200, 206 and 304.
//   * Conditional GET and HEAD: If-None-Match (weak comparison, "*"), else If-Modified-Since:
//     304 Not Modified, without a body, and the connection stays open.
//   * Range on GET (Accept-Ranges: bytes): one range "a-b", "a-" or "-n" is a 206 with
//     Content-Range, its bytes sent with sendfile from a; several are one 206 whose
//     multipart/byteranges body has each part's delimiter and fields written, then its bytes sent
//     with sendfile; ranges past the end are dropped, and when none is left the answer is a 416 with
//     "Content-Range: bytes */SIZE"; an invalid Range, more than 16 ranges, or overlapping ones
//     adding up to more than the file get the whole file (a server may ignore Range), and so does a
//     Range whose If-Range (an ETag or a date) names another version of the file.
//
// Timeouts, as nginx has them (paper section 4.2: a timer request beside the call, cancelled or
// cancelling), each closing the connection by cancelling the call it waits on:
//   --header-timeout-ms (nginx's client_header_timeout): a request head must arrive whole within it,
//     counted from the connection's start or from the first bytes of a kept-alive request;
//   --keepalive-timeout-ms (keepalive_timeout): how long a kept-alive connection may wait for the
//     first byte of its next request (also how long a lingering close reads what the client sends);
//   --send-timeout-ms (send_timeout): while a response is sent, a whole period without a write or
//     sendfile completing (a client that stopped reading).
// --idle-ms sets all three (default 5000); 0 disables one. One timer per connection serves them: it
// is restarted when a connection starts waiting for a request, and when it fires during a response
// that is moving it sleeps another send period. So a stalled response is cut between one send period
// and one header or keep-alive period plus one send period after its last progress.
//
//   flexvm run examples/httpd/server.wasm --dir examples/httpd/www:/www:ro -- --root /www
//     [--port 8080] [--host 127.0.0.1] [--idle-ms 5000] [--header-timeout-ms N] [--keepalive-timeout-ms N]
//     [--send-timeout-ms N] [--open-file-cache MAX] [--open-file-cache-valid SEC]
//     [--open-file-cache-inactive SEC] [--pages 64] [--accepts 4] [--backlog 511] [--max-conns 0]
//
// --open-file-cache MAX (nginx's open_file_cache, off by default): the descriptors and fstat results
// of up to MAX files served are kept (lib/open-file-cache.ts), so a cached file costs no openat,
// fstat or close: the per-request calls are the read, the head's write and the sendfile.
//
// --port 0 lets the kernel pick a port; the port is printed either way:
//   httpd: listening on 127.0.0.1:PORT
// --pages: syscall pages of 64 entries (calls in flight) to start with. Each idle connection holds
// its read and its timer; calls that wait for the outside world may use 7/8 of the entries, so N
// idle connections need about N / 28 pages (64: some 1,800 idle connections; the clock's sleep
// and the accepts take a few more); libflexsc adds pages when they run out, up to 1,024 (some
// 29,000 idle connections) or flexvm's --max-pages. Past that, or past --max-conns (0: no limit of its own), a new
// connection is closed at once, counted, and the first refusal logged (examples/lib/capacity.ts);
// the accepts stay posted.
import * as flexsc from "../../guest/flexsc";
import { Args, failed, logLine } from "../lib/args";
import { IdleTimer } from "../lib/idle-timer";
import { ConnectionLimit } from "../lib/capacity";
import { HttpRequest, parseHead, MAX_HEAD, METHOD_HEAD, METHOD_OTHER } from "./lib/request";
import { normalizeTarget } from "./lib/path";
import { contentType } from "./lib/mime";
import { responseHead, errorBody } from "./lib/response";
import { httpDate } from "./lib/date";
import { parseRange, ByteRanges, RANGE_PART, RANGE_UNSATISFIABLE } from "./lib/range";
import { entityTag, notModified, ifRangeHolds, preconditionFailed } from "./lib/conditional";
import { AccessLog } from "./lib/access-log";
import { OpenFileCache, CachedFile } from "./lib/open-file-cache";
import { logDate } from "./lib/date";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args("httpd");
let port = args.int("port", 8080, 0, 65535);
let host = args.str("host", "127.0.0.1");
const listenSpec = args.str("listen", "");
const idleMs = args.int("idle-ms", 5000, 0, 0x7fffffff);
const headerTimeoutMs = args.int("header-timeout-ms", idleMs, 0, 0x7fffffff);
const keepaliveTimeoutMs = args.int("keepalive-timeout-ms", idleMs, 0, 0x7fffffff);
const sendTimeoutMs = args.int("send-timeout-ms", idleMs, 0, 0x7fffffff);
const pages = args.int("pages", 64, 1, 4096);
const accepts = args.int("accepts", 4, 1, 4096);
const backlog = args.int("backlog", 511, 1);
let root = args.str("root", "/www");
const INDEX = args.str("index", "index.html");
const autoindex = args.has("autoindex");
const accessLogPath = args.str("access-log", "");
/** nginx's client_max_body_size: a request announcing a longer body gets 413. */
const maxBody = args.int("max-body", 1024 * 1024, 0);
/** nginx's open_file_cache max= (0: off), open_file_cache_valid and inactive=, in seconds. */
const openFileCacheMax = args.int("open-file-cache", 0, 0, 1 << 20);
const openFileCacheValid = args.int("open-file-cache-valid", 60, 1, 0x7fffffff);
const openFileCacheInactive = args.int("open-file-cache-inactive", 60, 1, 0x7fffffff);
/** nginx's keepalive_requests: the connection closes after this many responses. */
const keepaliveRequests = args.int("keepalive-requests", 1000, 1);
const maxConns = args.int("max-conns", 0, 0);
args.done();
/** A connection waits on its read (or a write to a slow client), and on its timer; the server on its accepts and its clock. */
const limit = new ConnectionLimit("httpd", maxConns, 2, accepts + 1);
if (listenSpec.length > 0) {
  // --listen ADDR:PORT, or PORT alone, as nginx's listen directive.
  const colon = listenSpec.lastIndexOf(":");
  const portText = colon < 0 ? listenSpec : listenSpec.slice(colon + 1);
  if (colon > 0) host = listenSpec.slice(0, colon);
  let ok = portText.length > 0 && portText.length <= 5;
  let n = 0;
  for (let i = 0; ok && i < portText.length; i++) {
    const c = portText.charCodeAt(i);
    if (c < 0x30 || c > 0x39) ok = false;
    else n = n * 10 + (c - 0x30);
  }
  if (!ok || n > 65535 || colon == 0) {
    logLine("httpd: --listen expects ADDR:PORT or PORT, got \"" + listenSpec + "\"");
    process.exit(2);
  }
  port = n;
}
while (root.length > 1 && root.endsWith("/")) root = root.slice(0, root.length - 1);
const rootBytes = String.UTF8.encode(root);
const rootLen = rootBytes.byteLength;

/** Room for a path: PATH_MAX with its NUL. */
const PATH_BUF: i32 = 4096;
/** Longest request path (after the root), leaving room for "/index.html" and the NUL. */
const PATH_CAP: i32 = PATH_BUF - rootLen - INDEX.length - 2;
/** Bytes one sendfile may move: progress shows at least this often while sending. */
const SENDFILE_STEP: i64 = 256 * 1024;

/** What a connection is doing (the timer acts on it). */
const READING: i32 = 0; // waiting for a request head
const SENDING: i32 = 1; // opening the file, writing the response
const LINGERING: i32 = 2; // after a shutdown: reading what the client still sends, until it closes
const CLOSED: i32 = 3;

let listenFd: i32 = -1;
/** Accepts in flight: when none is left the listener is gone, and the clock stops too. */
let acceptsLeft = accepts;

class Acceptor extends flexsc.Request {
  delay: ArrayBuffer = flexsc.timespec(50_000_000);
  /** The peer's address (struct sockaddr_in) and its length, for the access log. */
  peer: ArrayBuffer = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
  peerLen: ArrayBuffer = new ArrayBuffer(4);
}

const acceptors: Acceptor[] = [];

/** Posts an accept that records the peer's address. */
function accept(a: Acceptor): void {
  store<u32>(flexsc.ptr(a.peerLen), flexsc.SOCKADDR_IN_SIZE);
  flexsc.accept4(a, listenFd, flexsc.ptr(a.peer), flexsc.ptr(a.peerLen), 0);
}

/** Live connections (a graceful stop closes the idle ones and lets the others finish). */
const live = new Set<Conn>();
/** A graceful stop is under way: no new requests on kept-alive connections. */
let draining = false;
const accessLog: AccessLog | null = accessLogPath.length > 0 ? new AccessLog(-1) : null;
const fileCache: OpenFileCache | null = openFileCacheMax > 0 ? new OpenFileCache(openFileCacheMax, openFileCacheValid, openFileCacheInactive) : null;

class Conn extends flexsc.Request {
  fd: i32 = -1;
  phase: i32 = READING;
  /** Received bytes: [start, end) not parsed yet. */
  buf: ArrayBuffer = new ArrayBuffer(MAX_HEAD);
  start: i32 = 0;
  end: i32 = 0;
  req: HttpRequest = new HttpRequest();
  keepAlive: bool = false;
  /** Closing: shut down and read until the client closes, so unread requests do not reset it. */
  linger: bool = false;
  // The response in progress: buffers stay referenced here while calls use them.
  path: ArrayBuffer = new ArrayBuffer(PATH_BUF);
  pathLen: i32 = 0;
  triedIndex: bool = false;
  stat: ArrayBuffer = flexsc.statBuffer();
  offset: ArrayBuffer = new ArrayBuffer(8);
  head: ArrayBuffer = new ArrayBuffer(0);
  headSent: i32 = 0;
  fileFd: i32 = -1;
  /** fileFd belongs to this open-file cache entry (not closed by the response). */
  cached: CachedFile | null = null;
  /** The path as the open-file cache names it. */
  cacheKey: string = "";
  remaining: i64 = 0;
  /** A multipart/byteranges response: its parts, the next one to send, its boundary and part type. */
  parts: ByteRanges | null = null;
  nextPart: i32 = 0;
  boundary: string = "";
  partType: string = "";
  fileSize: i64 = 0;
  /** The bytes being written are part of the body (a part's delimiter and fields), for the log. */
  headIsBody: bool = false;
  // Timeouts.
  timer: IdleTimer<Conn> | null = null;
  /** A write or sendfile completed since the timer was last armed. */
  progress: bool = false;
  /** The timer gave up on the connection: the next handler closes it. */
  timedOut: bool = false;
  // The access log: the peer (IPv4, network byte order), responses sent, and this response's status
  // and body bytes.
  peerAddr: u32 = 0;
  requests: i32 = 0;
  status: i32 = 0;
  bodyBytes: i64 = 0;
  /** Where the directory's path ends in `path` (before the index name was appended). */
  dirLen: i32 = 0;
  /** autoindex: the directory's entries as they are read. */
  dents: ArrayBuffer | null = null;
  names: string[] = [];
}

function fail(what: string, r: i64): void {
  failed("httpd", what, r);
}

// ------------------------------------------------------------------ accepting

function onAccepted(r: flexsc.Request): void {
  if (r.result >= 0 && draining) {
    // Accepted as the stop began (its cancellation lost the race): not served.
    flexsc.close(null, <i32>r.result);
  } else if (r.result >= 0 && !limit.admit(<i32>r.result)) {
    // Refused (closed): the accept is re-posted below.
  } else if (r.result >= 0) {
    const c = new Conn(null);
    c.fd = <i32>r.result;
    c.peerAddr = load<u32>(flexsc.ptr(changetype<Acceptor>(r).peer) + flexsc.SOCKADDR_IN_SIN_ADDR);
    live.add(c);
    if (headerTimeoutMs > 0 || keepaliveTimeoutMs > 0 || sendTimeoutMs > 0) c.timer = new IdleTimer<Conn>(c, headerTimeoutMs, onTimer);
    startTimer(c);
    readMore(c);
  } else if (r.result == -flexsc.ECANCELED || r.result == -flexsc.EBADF) {
    // The listener is gone: once every accept has seen it, the loop may end with the connections.
    if (--acceptsLeft == 0) stopClock();
    return;
  } else if (r.result != -flexsc.ECONNABORTED) {
    // Out of descriptors or memory: accepting again at once would spin. Wait a little.
    logLine("httpd: accept: " + r.result.toString());
    r.handler = onAcceptDelay;
    flexsc.nanosleep(r, flexsc.ptr(changetype<Acceptor>(r).delay), 0);
    return;
  }
  if (draining) {
    if (--acceptsLeft == 0) stopClock();
    return;
  }
  // Pipeline the next connection right away (paper Figure 4, conn_accepted).
  accept(changetype<Acceptor>(r));
}

function onAcceptDelay(r: flexsc.Request): void {
  r.handler = onAccepted;
  if (draining) {
    if (--acceptsLeft == 0) stopClock();
    return;
  }
  accept(changetype<Acceptor>(r));
}

// ------------------------------------------------------------------ the clock

/** CLOCK_REALTIME in whole seconds, and the Date field's value for it (RFC 9110 6.6.1). */
let nowSec: i64 = 0;
let dateText = "";
/** The access log's $time_local for nowSec. */
let logTime = "";

/** Keeps nowSec and dateText current without a call per response (libflexsc's SecondTicker). */
const clock = new flexsc.SecondTicker(onSecond);

function onSecond(t: flexsc.SecondTicker): void {
  const sec = t.seconds;
  if (sec != nowSec || dateText.length == 0) {
    nowSec = sec;
    dateText = httpDate(sec);
    logTime = logDate(sec);
  }
  // The access log goes out at least once a second (nginx's flush=1s); the open-file cache drops
  // what it no longer uses.
  const log = accessLog;
  if (log !== null) log.flush();
  const cache = fileCache;
  if (cache !== null) cache.sweep(nowSec);
}

/** Stops the clock: its calls would keep the loop running after the listener is gone. */
function stopClock(): void {
  clock.stop();
}

// ------------------------------------------------------------------ timeouts

/** The timeout of what the connection does now (0: none). */
function periodFor(c: Conn): i32 {
  if (c.phase == SENDING) return sendTimeoutMs;
  if (c.phase == LINGERING) return keepaliveTimeoutMs;
  // Waiting for a request: the first byte of a kept-alive one, or the rest of a head.
  return c.requests > 0 && c.end == c.start ? keepaliveTimeoutMs : headerTimeoutMs;
}

/** A fresh period from now, of the connection's current timeout (a new wait for a request, or lingering). */
function startTimer(c: Conn): void {
  const t = c.timer;
  if (t === null) return;
  c.progress = false;
  const ms = periodFor(c);
  if (ms == 0) {
    t.stop();
    return;
  }
  t.setPeriod(ms);
  t.restart();
}

function onTimer(r: flexsc.Request): void {
  const t = changetype<IdleTimer<Conn>>(r);
  const c = t.owner;
  if (c.phase == CLOSED) return;
  if (t.rearm) {
    t.rearm = false;
    t.arm();
    return;
  }
  if (r.result != 0) return; // cancelled, and nothing to wait for any more
  if (c.phase == SENDING && c.progress) {
    // The response is moving: give it another send period (none when that timeout is off).
    c.progress = false;
    if (sendTimeoutMs > 0) {
      t.setPeriod(sendTimeoutMs);
      t.arm();
    }
    return;
  }
  // Nothing happened for a whole period: cancel the call the connection waits on; its handler
  // closes (also when the call completes anyway, having won the race).
  c.timedOut = true;
  flexsc.cancel(c);
}

// ------------------------------------------------------------------ reading requests

/** Reads more of the request head (after what the buffer holds). */
function readMore(c: Conn): void {
  if (c.start > 0) {
    // Move the beginning of the next request to the front.
    const n = c.end - c.start;
    if (n > 0) memory.copy(flexsc.ptr(c.buf), flexsc.ptr(c.buf) + <usize>c.start, <usize>n);
    c.start = 0;
    c.end = n;
  }
  if (c.end >= MAX_HEAD) {
    // No room left for the rest of the head: a read of 0 bytes would look like end of file.
    c.phase = SENDING;
    c.progress = true;
    errorResponse(c, 431);
    return;
  }
  c.handler = onRead;
  flexsc.read(c, c.fd, flexsc.ptr(c.buf) + <usize>c.end, <u32>(MAX_HEAD - c.end));
}

function onRead(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (c.timedOut || r.result <= 0) {
    // The client closed or reset the connection, or the timer cancelled the read.
    closeConn(c);
    return;
  }
  // The first bytes of a kept-alive request: the rest of its head has the header timeout.
  const wasIdle = c.requests > 0 && c.end == c.start;
  c.end += <i32>r.result;
  if (wasIdle && headerTimeoutMs != keepaliveTimeoutMs && parseHead(flexsc.ptr(c.buf), c.start, c.end, c.req) == 0) startTimer(c);
  nextRequest(c);
}

/** Serves the request at the front of the buffer, or reads until there is a whole one. */
function nextRequest(c: Conn): void {
  const n = parseHead(flexsc.ptr(c.buf), c.start, c.end, c.req);
  if (n == 0) {
    if (c.phase != READING) {
      c.phase = READING;
      startTimer(c);
    }
    readMore(c);
    return;
  }
  c.phase = SENDING;
  c.progress = true;
  // A timer left idle by a waiting phase without a timeout watches the response from here.
  const t = c.timer;
  if (t !== null && !t.busy && sendTimeoutMs > 0) {
    t.setPeriod(sendTimeoutMs);
    t.arm();
  }
  if (n < 0) {
    // The rest of the buffer cannot be trusted to start a request: answer and close.
    c.keepAlive = false;
    c.linger = true;
    errorResponse(c, -n);
    return;
  }
  c.start += n;
  const req = c.req;
  // A body is not read: close after the response (lingering, so the unread body does not reset
  // the connection before the client has the response). The last request nginx's
  // keepalive_requests allows, and every request during a graceful stop, close too.
  c.keepAlive = req.keepAlive && !req.hasBody && c.requests + 1 < keepaliveRequests && !draining;
  if (req.hasBody) c.linger = true;
  if (req.contentLength > <i64>maxBody) {
    errorResponse(c, 413);
    return;
  }
  if (req.method == METHOD_OTHER) {
    errorResponse(c, 405);
    return;
  }
  const p = flexsc.ptr(c.path);
  memory.copy(p, flexsc.ptr(rootBytes), <usize>rootLen);
  const len = normalizeTarget(flexsc.ptr(c.buf), req.targetStart, req.targetEnd, p + <usize>rootLen, PATH_CAP);
  if (len < 0) {
    errorResponse(c, -len);
    return;
  }
  c.pathLen = rootLen + len;
  store<u8>(p + <usize>c.pathLen, 0);
  c.triedIndex = false;
  openFile(c);
}

// ------------------------------------------------------------------ the file

function openFile(c: Conn): void {
  const cache = fileCache;
  if (cache !== null) {
    c.cacheKey = String.UTF8.decodeUnsafe(flexsc.ptr(c.path), <usize>c.pathLen);
    const e = cache.take(c.cacheKey, nowSec);
    if (e !== null) {
      // A cached regular file: no openat, no fstat (and no close at the end).
      c.cached = e;
      c.fileFd = e.fd;
      memory.copy(flexsc.ptr(c.stat), changetype<usize>(e.stat), <usize>e.stat.byteLength);
      fileResponse(c, flexsc.statSize(flexsc.ptr(c.stat)), flexsc.statMtime(flexsc.ptr(c.stat)));
      return;
    }
  }
  c.handler = onOpened;
  flexsc.openat(c, flexsc.AT_FDCWD, flexsc.ptr(c.path), flexsc.O_RDONLY | flexsc.O_CLOEXEC, 0);
}

function statusForErrno(e: i64): i32 {
  if (e == -flexsc.ENOENT || e == -flexsc.ENOTDIR) return 404;
  if (e == -flexsc.EACCES || e == -flexsc.EPERM || e == -flexsc.ELOOP) return 403;
  if (e == -flexsc.ENAMETOOLONG) return 414;
  return 500;
}

function onOpened(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result >= 0) c.fileFd = <i32>r.result;
  if (c.timedOut) {
    closeConn(c);
    return;
  }
  if (r.result < 0) {
    // No index file in a directory: its listing with --autoindex, else 403 (as nginx).
    if (c.triedIndex && r.result == -flexsc.ENOENT) {
      if (autoindex) openListing(c);
      else errorResponse(c, 403);
      return;
    }
    errorResponse(c, statusForErrno(r.result));
    return;
  }
  c.handler = onStat;
  flexsc.fstat(c, c.fileFd, flexsc.ptr(c.stat));
}

function closeFile(c: Conn): void {
  if (c.fileFd < 0) return;
  const e = c.cached;
  if (e !== null) fileCache!.release(e);
  else flexsc.close(null, c.fileFd);
  c.cached = null;
  c.fileFd = -1;
}

function onStat(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (c.timedOut) {
    closeConn(c);
    return;
  }
  if (r.result < 0) {
    closeFile(c);
    errorResponse(c, 500);
    return;
  }
  const kind = flexsc.statMode(flexsc.ptr(c.stat)) & <u32>flexsc.S_IFMT;
  if (kind == <u32>flexsc.S_IFDIR) {
    closeFile(c);
    if (c.triedIndex) {
      errorResponse(c, 403);
      return;
    }
    // A directory asked for without its trailing slash: 301 to the name with it, as nginx does
    // (relative names in its pages must resolve inside it).
    if (!targetEndsWithSlash(c)) {
      redirectToSlash(c);
      return;
    }
    // A directory: its index file.
    const p = flexsc.ptr(c.path);
    let n = c.pathLen;
    if (load<u8>(p + <usize>(n - 1)) != 0x2f) store<u8>(p + <usize>(n++), 0x2f);
    c.dirLen = n;
    for (let i = 0; i < INDEX.length; i++) store<u8>(p + <usize>(n++), <u8>INDEX.charCodeAt(i));
    store<u8>(p + <usize>n, 0);
    c.pathLen = n;
    c.triedIndex = true;
    openFile(c);
    return;
  }
  if (kind != <u32>flexsc.S_IFREG) {
    closeFile(c);
    errorResponse(c, 403);
    return;
  }
  const cache = fileCache;
  if (cache !== null && !draining) c.cached = cache.put(c.cacheKey, c.fileFd, flexsc.ptr(c.stat), flexsc.STAT_SIZE, nowSec);
  fileResponse(c, flexsc.statSize(flexsc.ptr(c.stat)), flexsc.statMtime(flexsc.ptr(c.stat)));
}

/** Set by parseRange (kept by a multipart response, which takes a fresh one for the next). */
let ranges = new ByteRanges();
/** Makes each multipart boundary unique in this server's life. */
let boundaries: u32 = 0;

/** The delimiter and fields before part `i` of a multipart/byteranges body (RFC 9110 14.6). */
function partHeadText(c: Conn, i: i32): string {
  const p = c.parts!;
  const first = unchecked(p.first[i]);
  const last = unchecked(p.last[i]);
  return "\r\n--" + c.boundary + "\r\nContent-Type: " + c.partType + "\r\nContent-Range: bytes " + first.toString() + "-" + last.toString() + "/" + c.fileSize.toString() + "\r\n\r\n";
}

/** The closing delimiter of a multipart/byteranges body. */
function closeDelimiter(c: Conn): string {
  return "\r\n--" + c.boundary + "--\r\n";
}

/** The open file (`size` bytes, modified at `mtime`) in a 200, 206, 304 or 416. */
function fileResponse(c: Conn, size: i64, mtime: i64): void {
  const req = c.req;
  const buf = flexsc.ptr(c.buf);
  // RFC 9110 8.8.2.1: a modification time ahead of our clock is sent as the time of the response.
  const modified = mtime < nowSec ? mtime : nowSec;
  const tag = entityTag(mtime, size);
  let fields = "Last-Modified: " + httpDate(modified) + "\r\nETag: " + tag + "\r\n";
  if (preconditionFailed(buf, req, tag, modified, nowSec)) {
    // If-Match or If-Unmodified-Since names another version (RFC 9110 13.1.1, 13.1.4).
    closeFile(c);
    errorResponse(c, 412);
    return;
  }
  if (notModified(buf, req, tag, modified, nowSec)) {
    // No body, nor the fields that would describe one.
    closeFile(c);
    c.remaining = 0;
    c.status = 304;
    c.bodyBytes = 0;
    sendHead(c, String.UTF8.encode(responseHead(304, dateText, "", -1, c.keepAlive, fields)));
    return;
  }
  fields += "Accept-Ranges: bytes\r\n";
  let status = 200;
  let first: i64 = 0;
  let length = size;
  let type = contentType(flexsc.ptr(c.path), c.pathLen);
  c.parts = null;
  // RFC 9110 14.2: Range is for GET (a HEAD is told about the whole file). Several Range fields are
  // not served: the whole file is.
  const range = req.range;
  if (req.method != METHOD_HEAD && range.count == 1 && ifRangeHolds(buf, req, tag, modified, nowSec)) {
    const kind = parseRange(buf, range.start, range.end, size, ranges);
    if (kind == RANGE_UNSATISFIABLE) {
      closeFile(c);
      errorResponse(c, 416, "Content-Range: bytes */" + size.toString() + "\r\n");
      return;
    }
    if (kind == RANGE_PART && ranges.count == 1) {
      status = 206;
      first = unchecked(ranges.first[0]);
      length = unchecked(ranges.last[0]) - first + 1;
      fields += "Content-Range: bytes " + first.toString() + "-" + unchecked(ranges.last[0]).toString() + "/" + size.toString() + "\r\n";
    } else if (kind == RANGE_PART) {
      // Several parts: multipart/byteranges, each part with its own delimiter and fields.
      status = 206;
      c.parts = ranges;
      ranges = new ByteRanges();
      c.nextPart = 0;
      c.boundary = "flexvm" + (++boundaries).toString().padStart(10, "0") + tag.slice(1, tag.length - 1);
      c.partType = type;
      c.fileSize = size;
      const p = c.parts!;
      length = <i64>String.UTF8.byteLength(closeDelimiter(c));
      for (let i = 0; i < p.count; i++) length += <i64>String.UTF8.byteLength(partHeadText(c, i)) + unchecked(p.last[i]) - unchecked(p.first[i]) + 1;
      type = "multipart/byteranges; boundary=" + c.boundary;
    }
  }
  const head = responseHead(status, dateText, type, length, c.keepAlive, fields);
  c.remaining = req.method == METHOD_HEAD || c.parts !== null ? 0 : length;
  c.status = status;
  c.bodyBytes = 0;
  store<i64>(flexsc.ptr(c.offset), first);
  sendHead(c, String.UTF8.encode(head));
}

// ------------------------------------------------------------------ responding

/** An error page; `fields` are more header lines (each ending in CRLF). */
function errorResponse(c: Conn, status: i32, fields: string = ""): void {
  if (status == 400 || status == 413 || status == 414 || status == 431 || status == 500 || status == 505) {
    c.keepAlive = false;
    c.linger = true;
  }
  const body = errorBody(status);
  const bodyLen = String.UTF8.byteLength(body);
  let text = responseHead(status, dateText, "text/html; charset=utf-8", bodyLen, c.keepAlive, fields);
  // A HEAD request gets the head only (and may not have been parsed as one: then send the body).
  const withBody = c.req.method != METHOD_HEAD || status == 400 || status == 414 || status == 431 || status == 505;
  if (withBody) text += body;
  c.parts = null;
  c.remaining = 0;
  c.status = status;
  c.bodyBytes = withBody ? bodyLen : 0;
  sendHead(c, String.UTF8.encode(text));
}

function sendHead(c: Conn, head: ArrayBuffer, isBody: bool = false): void {
  c.headIsBody = isBody;
  c.head = head;
  c.headSent = 0;
  c.handler = onHeadWritten;
  flexsc.write(c, c.fd, flexsc.ptr(head), <u32>head.byteLength);
}

function onHeadWritten(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (c.timedOut || r.result < 0) {
    closeConn(c);
    return;
  }
  c.progress = true;
  c.headSent += <i32>r.result;
  if (c.headIsBody) c.bodyBytes += r.result;
  const left = c.head.byteLength - c.headSent;
  if (left > 0) {
    flexsc.write(c, c.fd, flexsc.ptr(c.head) + <usize>c.headSent, <u32>left);
    return;
  }
  if (c.remaining > 0) sendBody(c);
  else bodyDone(c);
}

/** A body, or one part of a multipart body, has been sent: the next part, or the end. */
function bodyDone(c: Conn): void {
  const p = c.parts;
  if (p === null || c.nextPart > p.count) {
    c.parts = null;
    responseDone(c);
    return;
  }
  const i = c.nextPart++;
  if (i == p.count) {
    sendHead(c, String.UTF8.encode(closeDelimiter(c)), true);
    return;
  }
  const first = unchecked(p.first[i]);
  store<i64>(flexsc.ptr(c.offset), first);
  c.remaining = unchecked(p.last[i]) - first + 1;
  sendHead(c, String.UTF8.encode(partHeadText(c, i)), true);
}

function sendBody(c: Conn): void {
  c.handler = onBodySent;
  const n = c.remaining < SENDFILE_STEP ? c.remaining : SENDFILE_STEP;
  flexsc.sendfile(c, c.fd, c.fileFd, flexsc.ptr(c.offset), <u32>n);
}

function onBodySent(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  // An error, a cancellation, or a file that shrank (0): the promised length cannot be kept.
  if (c.timedOut || r.result <= 0) {
    closeConn(c);
    return;
  }
  c.progress = true;
  c.remaining -= r.result;
  c.bodyBytes += r.result;
  if (c.remaining > 0) sendBody(c);
  else bodyDone(c);
}

function responseDone(c: Conn): void {
  closeFile(c);
  logRequest(c);
  c.requests++;
  if (c.keepAlive) {
    nextRequest(c);
    return;
  }
  // Unparsed bytes (requests after the last one served) would reset the connection on close.
  if (c.end > c.start) c.linger = true;
  // Stopping: no lingering (it could outlast the host's grace period).
  if (!c.linger || draining) {
    closeConn(c);
    return;
  }
  // Lingering close: send our FIN after the response, read and drop what the client still sends
  // until it closes (or the timer gives up), then close.
  c.phase = LINGERING;
  startTimer(c);
  flexsc.shutdown(null, c.fd, flexsc.SHUT_WR);
  c.start = 0;
  c.end = 0;
  c.handler = onLinger;
  flexsc.read(c, c.fd, flexsc.ptr(c.buf), <u32>MAX_HEAD);
}

function onLinger(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (c.timedOut || r.result <= 0) {
    closeConn(c);
    return;
  }
  flexsc.read(c, c.fd, flexsc.ptr(c.buf), <u32>MAX_HEAD);
}

function closeConn(c: Conn): void {
  if (c.phase == CLOSED) return;
  c.phase = CLOSED;
  live.delete(c);
  limit.closed();
  const t = c.timer;
  if (t !== null) t.stop();
  closeFile(c);
  flexsc.close(null, c.fd); // no handler needed (paper Figure 4, file_sent)
}

// ------------------------------------------------------------------ redirects, listings, the log

/** Whether the request's path (before any query) ends in "/". */
function targetEndsWithSlash(c: Conn): bool {
  const buf = flexsc.ptr(c.buf);
  let e = c.req.targetStart;
  while (e < c.req.targetEnd && load<u8>(buf + <usize>e) != 0x3f) e++;
  return e > c.req.targetStart && load<u8>(buf + <usize>(e - 1)) == 0x2f;
}

/** 301 to the same path with a "/" added (the query kept), as nginx answers for a directory. */
function redirectToSlash(c: Conn): void {
  const buf = flexsc.ptr(c.buf);
  const s = c.req.targetStart;
  let q = s;
  while (q < c.req.targetEnd && load<u8>(buf + <usize>q) != 0x3f) q++;
  const path = String.UTF8.decodeUnsafe(buf + <usize>s, <usize>(q - s));
  const query = String.UTF8.decodeUnsafe(buf + <usize>q, <usize>(c.req.targetEnd - q));
  errorResponse(c, 301, "Location: " + path + "/" + query + "\r\n");
}

/** The directory's listing: open it, read its entries with getdents64, answer with a page. */
function openListing(c: Conn): void {
  const p = flexsc.ptr(c.path);
  c.pathLen = c.dirLen;
  store<u8>(p + <usize>c.pathLen, 0);
  c.names = [];
  c.handler = onListingOpened;
  flexsc.openat(c, flexsc.AT_FDCWD, p, flexsc.O_RDONLY | flexsc.O_DIRECTORY | flexsc.O_CLOEXEC, 0);
}

const DENTS_BUF: i32 = 8192;

function onListingOpened(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result >= 0) c.fileFd = <i32>r.result;
  if (c.timedOut) {
    closeConn(c);
    return;
  }
  if (r.result < 0) {
    errorResponse(c, statusForErrno(r.result));
    return;
  }
  if (c.dents === null) c.dents = new ArrayBuffer(DENTS_BUF);
  readEntries(c);
}

/** getdents64: a call with no readiness behind it, which epoll cannot make asynchronous. */
function readEntries(c: Conn): void {
  c.handler = onEntries;
  flexsc.getdents64(c, c.fileFd, flexsc.ptr(c.dents!), <u32>DENTS_BUF);
}

function onEntries(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (c.timedOut) {
    closeConn(c);
    return;
  }
  if (r.result < 0) {
    closeFile(c);
    errorResponse(c, 500);
    return;
  }
  if (r.result > 0) {
    // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name (NUL-terminated).
    const base = flexsc.ptr(c.dents!);
    let off: usize = 0;
    while (off < <usize>r.result) {
      const reclen = load<u16>(base + off + 16);
      if (reclen == 0) break;
      const type = load<u8>(base + off + 18);
      const name = String.UTF8.decodeUnsafe(base + off + 19, <usize>reclen - 19, true);
      if (name != "." && name != ".." && !name.startsWith(".")) c.names.push(type == 4 ? name + "/" : name);
      off += <usize>reclen;
    }
    readEntries(c);
    return;
  }
  closeFile(c);
  c.names.sort((a: string, b: string): i32 => (a < b ? -1 : a > b ? 1 : 0));
  const dir = htmlEscape(String.UTF8.decodeUnsafe(flexsc.ptr(c.path) + <usize>rootLen, <usize>(c.dirLen - rootLen)));
  let page = "<!DOCTYPE html>\n<html><head><title>Index of " + dir + "</title></head><body><h1>Index of " + dir + "</h1><hr><pre><a href=\"../\">../</a>\n";
  for (let i = 0; i < c.names.length; i++) {
    const n = c.names[i];
    page += "<a href=\"" + hrefEscape(n) + "\">" + htmlEscape(n) + "</a>\n";
  }
  page += "</pre><hr></body></html>\n";
  c.names = [];
  const body = String.UTF8.encode(page);
  const head = responseHead(200, dateText, "text/html; charset=utf-8", body.byteLength, c.keepAlive);
  c.status = 200;
  c.bodyBytes = c.req.method == METHOD_HEAD ? 0 : body.byteLength;
  c.remaining = 0;
  sendHead(c, c.req.method == METHOD_HEAD ? String.UTF8.encode(head) : String.UTF8.encode(head + page));
}

function htmlEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\"", "&quot;");
}

/** Percent-encodes what may not stand in a path segment of an href ("/" kept for directories). */
function hrefEscape(s: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const plain = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e || b == 0x2f;
    if (plain) out += String.fromCharCode(b);
    else out += "%" + (b < 16 ? "0" : "") + (<u32>b).toString(16).toUpperCase();
  }
  return out;
}

/** One line in the access log for the response just sent. */
function logRequest(c: Conn): void {
  const log = accessLog;
  if (log === null) return;
  const a = c.peerAddr; // network byte order: the first octet is the low byte
  const addr = (a & 0xff).toString() + "." + ((a >> 8) & 0xff).toString() + "." + ((a >> 16) & 0xff).toString() + "." + (a >> 24).toString();
  const req = c.req;
  log.line(addr, logTime, flexsc.ptr(c.buf), req.lineStart, req.lineEnd, c.status, c.bodyBytes,
    req.referer.start, req.referer.end, req.userAgent.start, req.userAgent.end);
}

/**
 * SIGINT/SIGTERM (the host's stop request): stop accepting, close the idle connections, let the
 * responses in flight finish (their connections then close), flush the log; the loop then ends
 * and the server exits 0. The host's grace period is the deadline; a second signal ends it at once.
 */
function gracefulStop(): void {
  draining = true;
  const log = accessLog;
  if (log !== null) {
    log.draining = true;
    log.flush();
  }
  // No message here: a synchronous call (WASI's fd_write too) is refused once the host asked to stop.
  for (let i = 0; i < acceptors.length; i++) flexsc.cancel(acceptors[i]);
  // Cached descriptors close now, or when the responses sending from them end.
  const cache = fileCache;
  if (cache !== null) cache.clear();
  flexsc.close(null, listenFd);
  const conns = live.values();
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i];
    c.keepAlive = false;
    // Waiting for a request that has not begun: nothing to finish.
    if (c.phase == READING && c.end == c.start) {
      c.timedOut = true;
      flexsc.cancel(c);
    }
  }
}

// ------------------------------------------------------------------ setting up

// Not performance critical: done synchronously, as the paper's example does.
const registered = flexsc.init(pages);
if (registered < 0) fail("registering " + pages.toString() + " syscall pages", registered);

const rootPath = flexsc.cstr(root);
const rootStat = flexsc.statBuffer();
const st = flexsc.syscallSync(flexsc.SYS_newfstatat, flexsc.AT_FDCWD, <i32>flexsc.ptr(rootPath), <i32>flexsc.ptr(rootStat), 0);
if (st < 0 || (flexsc.statMode(flexsc.ptr(rootStat)) & <u32>flexsc.S_IFMT) != <u32>flexsc.S_IFDIR) {
  logLine("httpd: the document root " + root + " is not a directory (" + st.toString() + "); grant one with --dir HOST:" + root);
  process.exit(1);
}

const fd = flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
if (fd < 0) fail("socket", fd);
listenFd = <i32>fd;
const one = new ArrayBuffer(4);
store<i32>(flexsc.ptr(one), 1);
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.SOL_SOCKET, flexsc.SO_REUSEADDR, <i32>flexsc.ptr(one), 4);
// Inherited by every accepted connection: the head and the body are two writes, which Nagle's
// algorithm would otherwise hold back behind a delayed acknowledgement.
flexsc.syscallSync(flexsc.SYS_setsockopt, listenFd, flexsc.IPPROTO_TCP, flexsc.TCP_NODELAY, <i32>flexsc.ptr(one), 4);
const hostAddr = flexsc.inetAddr(host);
if (hostAddr < 0) fail("reading --host " + host + " as an IPv4 address", -flexsc.EINVAL);
const addr = flexsc.sockaddrIn(port, <u32>hostAddr);
let rc = flexsc.syscallSync(flexsc.SYS_bind, listenFd, <i32>flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
if (rc < 0) fail("bind to port " + port.toString(), rc);
rc = flexsc.syscallSync(flexsc.SYS_listen, listenFd, backlog);
if (rc < 0) fail("listen on port " + port.toString(), rc);
// With --port 0 the kernel picks the port: report the one we got.
const bound = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
const boundLen = new ArrayBuffer(4);
store<u32>(flexsc.ptr(boundLen), flexsc.SOCKADDR_IN_SIZE);
flexsc.syscallSync(flexsc.SYS_getsockname, listenFd, <i32>flexsc.ptr(bound), <i32>flexsc.ptr(boundLen));
logLine("httpd: listening on " + host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());
flexsc.ready(host + ":" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());

// The first reading of the clock is synchronous too; the clock's calls keep it current from here.
const clockRead = clock.read();
if (clockRead < 0) fail("clock_gettime(CLOCK_REALTIME)", clockRead);
clock.start();

// The access log: standard output with "-", else a file opened for appending (grant its folder).
const openLog = accessLog;
if (openLog !== null) {
  if (accessLogPath == "-") openLog!.fd = 1;
  else {
    const logPath = flexsc.cstr(accessLogPath);
    const lfd = flexsc.syscallSync(flexsc.SYS_openat, flexsc.AT_FDCWD, <i32>flexsc.ptr(logPath),
      flexsc.O_WRONLY | flexsc.O_CREAT | flexsc.O_APPEND | flexsc.O_CLOEXEC, 420 /* 0644 */);
    if (lfd < 0) fail("opening the access log " + accessLogPath, lfd);
    openLog!.fd = <i32>lfd;
  }
}

for (let i = 0; i < accepts; i++) {
  const a = new Acceptor(onAccepted);
  acceptors.push(a);
  accept(a);
}
// A graceful stop where the loop can keep going after the host asked to stop: in the sync mode a
// blocking hand-off in progress is interrupted by the stop, so there the server stops at once (130).
if (flexsc.mode() != flexsc.MODE_SYNC) flexsc.onShutdown(gracefulStop);
flexsc.onExit((status: i32): i32 => {
  const log = accessLog;
  if (log !== null) log.flushSync();
  return status;
});
flexsc.run();
