// A client that connects to the echo server and then says nothing: the server's idle timeout
// (--idle-ms) must close the connection by cancelling its pending read (paper section 4.2), which this
// client sees as end of file. With `--first`, it has one message echoed before falling silent.
// Prints `ok`/`not ok` lines; `--idle-ms` is the server's timeout, checked against virtual time
// (tests/e2e-echo.test.ts).
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
import { check, expect, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const port = args.int("port", 7);
const idleMs = args.int("idle-ms", 50);
const first = args.has("first");

const addr = flexsc.sockaddrIn(port);
const retryDelay = flexsc.timespec(10_000_000);
const hello = String.UTF8.encode("hello");
const buf = new ArrayBuffer(64);
const t0 = new ArrayBuffer(16);
const t1 = new ArrayBuffer(16);
let fd: i32 = -1;
let attempts = 0;
let closedSeen = false;

class Step extends flexsc.Request {}
const req = new Step(onSocket);

function onSocket(r: flexsc.Request): void {
  if (r.result < 0) {
    check("socket", false, r.result.toString());
    return;
  }
  fd = <i32>r.result;
  // Virtual time before the server can have accepted (and armed its idle timer).
  flexsc.syscallSync(flexsc.SYS_clock_gettime, flexsc.CLOCK_MONOTONIC, <i32>flexsc.ptr(t0));
  r.handler = onConnected;
  flexsc.connect(r, fd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
}

function onConnected(r: flexsc.Request): void {
  if (r.result == -flexsc.ECONNREFUSED && ++attempts < 200) {
    // The server is still starting.
    flexsc.close(null, fd);
    r.handler = onRetry;
    flexsc.nanosleep(r, flexsc.ptr(retryDelay), 0);
    return;
  }
  expect("connect", r.result, 0);
  if (r.result != 0) return;
  if (first) {
    r.handler = onWritten;
    flexsc.write(r, fd, flexsc.ptr(hello), hello.byteLength);
    return;
  }
  goSilent(r);
}

function onRetry(r: flexsc.Request): void {
  r.handler = onSocket;
  flexsc.socket(r, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
}

function onWritten(r: flexsc.Request): void {
  expect("first-write", r.result, hello.byteLength);
  r.handler = onEcho;
  flexsc.read(r, fd, flexsc.ptr(buf), 64);
}

function onEcho(r: flexsc.Request): void {
  check("first-echo", r.result == hello.byteLength && String.UTF8.decodeUnsafe(flexsc.ptr(buf), 5) == "hello", "read " + r.result.toString());
  goSilent(r);
}

function goSilent(r: flexsc.Request): void {
  r.handler = onClosed;
  flexsc.read(r, fd, flexsc.ptr(buf), 64);
}

function onClosed(r: flexsc.Request): void {
  flexsc.syscallSync(flexsc.SYS_clock_gettime, flexsc.CLOCK_MONOTONIC, <i32>flexsc.ptr(t1));
  // From just before connecting: the server's timer runs from its accept (with --first, from the
  // read after the one exchange), so the connection lives at least --idle-ms.
  const waitedMs = (flexsc.timespecNs(flexsc.ptr(t1)) - flexsc.timespecNs(flexsc.ptr(t0))) / 1_000_000;
  // End of file (the server closed), or a reset: either way the server hung up on us.
  check("closed-by-server", r.result == 0 || r.result == -flexsc.ECONNRESET, "read " + r.result.toString());
  check("closed-after-idle-timeout", waitedMs >= <i64>idleMs && waitedMs < <i64>idleMs + 1000, "after " + waitedMs.toString() + " ms");
  closedSeen = true;
  flexsc.close(null, fd);
}

function onExit(status: i32): i32 {
  check("finished", closedSeen, "the connection was never closed");
  return summary(status);
}

flexsc.socket(req, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
flexsc.onExit(onExit);
flexsc.run();
