// A raw-socket protocol checker for the kv example (examples/kv), usable on every kernel: the test
// writes a script on standard input, this guest plays it against the server and reports each case
// (`ok NAME` / `not ok NAME DETAIL`). The script is a sequence of records:
//
//   case NAME\n          a new case on a fresh connection
//   send N\n<N bytes>    write these bytes
//   expect N\n<N bytes>  read until the bytes received match exactly (0x01 in the pattern: one or
//                        more digits, for cas uniques and times); fail after 3 s of the kernel's clock
//   closed\n             the server closes the connection (no further bytes)
//   sleep MS\n           sleep (virtual time on the virtual kernel)
//   connect\n            another connection, the previous one left open (for -c and many clients)
//
//   flexvm run tests/guests/kv-check.wasm -- --port PORT < script
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
import { pass, fail, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const port = args.int("port", 11211);

// The whole script, read through the loop before the first case: a synchronous read may answer
// -EAGAIN (epoll mode: a call through the `syscall` import never waits) or come before the host has
// written all of standard input, so only end of file ends the script.
let script: ArrayBuffer = new ArrayBuffer(1 << 16);
let S: usize = changetype<usize>(script);
let scriptLen = 0;
flexsc.init(4);
let pos = 0;

/** The next line of the script (without its newline). */
function nextLine(): string {
  let e = pos;
  while (e < scriptLen && load<u8>(S + <usize>e) != 0x0a) e++;
  const s = String.UTF8.decodeUnsafe(S + <usize>pos, <usize>(e - pos));
  pos = e + 1;
  return s;
}

const addr: ArrayBuffer = flexsc.sockaddrIn(port);
let caseName = "";
let caseFailed = false;
let fd: i32 = -1;
let rx: ArrayBuffer = new ArrayBuffer(1 << 16);
let rxLen = 0;
// The current send or expect block: [blockAt, blockAt + blockLen) of the script.
let blockAt = 0;
let blockLen = 0;
let sent = 0;
let waitingClose = false;

class Step extends flexsc.Request {}
/** A read waits at most 3 s for bytes: a stalled server fails the case, a busy one (a 4 MB block under load) does not. */
class Timer extends flexsc.Request {
  ts: ArrayBuffer = flexsc.timespec(3_000_000_000);
  fired: bool = false;
  /** Bytes arrived since the timer was armed: it sleeps another period instead of giving up. */
  progressed: bool = false;
}
const io: Step = new Step(null);
const timer: Timer = new Timer(onTimer);
const sleepTs: ArrayBuffer = new ArrayBuffer(16);

function finishCase(): void {
  if (caseName.length > 0 && !caseFailed) pass(caseName);
}

function failCase(detail: string): void {
  if (!caseFailed) fail(caseName, detail);
  caseFailed = true;
}

function printable(p: usize, n: i32): string {
  let s = "";
  const m = n > 400 ? 400 : n;
  for (let i = 0; i < m; i++) {
    const b = load<u8>(p + <usize>i);
    if (b == 0x0d) s += "\\r";
    else if (b == 0x0a) s += "\\n";
    else if (b == 0x01) s += "<digits>";
    else if (b < 0x20 || b >= 0x7f) s += "\\x" + (<u32>b).toString(16);
    else s += String.fromCharCode(b);
  }
  if (n > m) s += "...(" + n.toString() + " bytes)";
  return s;
}

/** Runs the script from `pos` until a call is in flight or the script ends. */
function step(): void {
  for (;;) {
    if (pos >= scriptLen) {
      finishCase();
      if (fd >= 0) flexsc.close(null, fd);
      fd = -1;
      flexsc.onExit((s: i32): i32 => summary(s));
      return;
    }
    const line = nextLine();
    if (line.startsWith("case ")) {
      finishCase();
      caseName = line.slice(5);
      caseFailed = false;
      if (fd >= 0) flexsc.close(null, fd);
      rxLen = 0;
      connect();
      return;
    }
    if (line == "connect") {
      rxLen = 0;
      connect();
      return;
    }
    const sp = line.indexOf(" ");
    const word = sp < 0 ? line : line.slice(0, sp);
    const n = sp < 0 ? 0 : <i32>parseInt(line.slice(sp + 1), 10);
    if (word == "send") {
      blockAt = pos;
      blockLen = n;
      pos += n;
      sent = 0;
      if (caseFailed || fd < 0) continue;
      io.handler = onSent;
      flexsc.write(io, fd, S + <usize>blockAt, <u32>blockLen);
      return;
    }
    if (word == "expect") {
      blockAt = pos;
      blockLen = n;
      pos += n;
      if (caseFailed || fd < 0) continue;
      waitingClose = false;
      const m = match();
      if (m == 1) continue;
      if (m < 0) {
        failCase("expected " + printable(S + <usize>blockAt, blockLen) + " got " + printable(changetype<usize>(rx), rxLen));
        continue;
      }
      startRead();
      return;
    }
    if (word == "closed") {
      if (caseFailed || fd < 0) continue;
      if (rxLen > 0) {
        failCase("expected the connection closed, got " + printable(changetype<usize>(rx), rxLen));
        continue;
      }
      waitingClose = true;
      startRead();
      return;
    }
    if (word == "sleep") {
      store<i64>(changetype<usize>(sleepTs), <i64>(n / 1000));
      store<i64>(changetype<usize>(sleepTs) + 8, <i64>(n % 1000) * 1_000_000);
      io.handler = onSlept;
      flexsc.nanosleep(io, changetype<usize>(sleepTs), 0);
      return;
    }
    failCase("bad script line: " + line);
  }
}

function connect(): void {
  const s = flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
  if (s < 0) {
    failCase("socket: " + flexsc.errnoName(s));
    fd = -1;
    step();
    return;
  }
  fd = <i32>s;
  io.handler = onConnected;
  flexsc.connect(io, fd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
}

function onConnected(r: flexsc.Request): void {
  if (r.result < 0) {
    failCase("connect: " + flexsc.errnoName(r.result));
    flexsc.close(null, fd);
    fd = -1;
  }
  step();
}

function onSent(r: flexsc.Request): void {
  if (r.result < 0) {
    failCase("write: " + flexsc.errnoName(r.result));
    step();
    return;
  }
  sent += <i32>r.result;
  if (sent < blockLen) {
    flexsc.write(io, fd, S + <usize>(blockAt + sent), <u32>(blockLen - sent));
    return;
  }
  step();
}

function onSlept(r: flexsc.Request): void {
  step();
}

function startRead(): void {
  if (rxLen + 4096 > rx.byteLength) {
    const bigger = new ArrayBuffer(rx.byteLength * 2);
    memory.copy(changetype<usize>(bigger), changetype<usize>(rx), <usize>rxLen);
    rx = bigger;
  }
  io.handler = onRead;
  timer.fired = false;
  flexsc.read(io, fd, changetype<usize>(rx) + <usize>rxLen, <u32>(rx.byteLength - rxLen));
  if (!timer.busy) {
    timer.progressed = false;
    flexsc.clock_nanosleep(timer, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(timer.ts), 0);
  }
}

function onTimer(r: flexsc.Request): void {
  if (!io.busy) return;
  const t = changetype<Timer>(r);
  if (r.result != 0 || t.progressed) {
    // Cancelled as the last block ended while the next read was posted, or bytes came: a fresh period.
    t.progressed = false;
    flexsc.clock_nanosleep(t, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(t.ts), 0);
    return;
  }
  t.fired = true;
  flexsc.cancel(io);
}

function onRead(r: flexsc.Request): void {
  if (waitingClose) {
    if (timer.busy) flexsc.cancel(timer);
    if (r.result == 0 || r.result == -flexsc.ECONNRESET) {
      flexsc.close(null, fd);
      fd = -1;
    } else if (r.result > 0) {
      rxLen += <i32>r.result;
      failCase("expected the connection closed, got " + printable(changetype<usize>(rx), rxLen));
    } else failCase(timer.fired ? "the connection stayed open" : "read: " + flexsc.errnoName(r.result));
    step();
    return;
  }
  if (r.result <= 0) {
    if (timer.busy) flexsc.cancel(timer);
    const why = r.result == 0 ? "end of file" : timer.fired ? "timed out" : flexsc.errnoName(r.result);
    failCase(why + ": expected " + printable(S + <usize>blockAt, blockLen) + " got " + printable(changetype<usize>(rx), rxLen));
    step();
    return;
  }
  rxLen += <i32>r.result;
  timer.progressed = true;
  const m = match();
  if (m == 0) {
    startRead();
    return;
  }
  if (timer.busy) flexsc.cancel(timer);
  if (m < 0) failCase("expected " + printable(S + <usize>blockAt, blockLen) + " got " + printable(changetype<usize>(rx), rxLen));
  step();
}

/**
 * Matches the received bytes against the expect block: 1 matched (the bytes are consumed), 0 a
 * prefix so far, -1 cannot match.
 */
function match(): i32 {
  const p = S + <usize>blockAt;
  const d = changetype<usize>(rx);
  let i = 0;
  let j = 0;
  while (i < blockLen) {
    const want = load<u8>(p + <usize>i);
    if (want == 0x01) {
      let k = j;
      while (k < rxLen && <u32>load<u8>(d + <usize>k) - 0x30 <= 9) k++;
      if (k == rxLen) return 0; // more digits may come
      if (k == j) return -1;
      j = k;
      i++;
      continue;
    }
    if (j >= rxLen) return 0;
    if (load<u8>(d + <usize>j) != want) return -1;
    i++;
    j++;
  }
  // Consumed: what follows belongs to the next expect.
  const rest = rxLen - j;
  if (rest > 0) memory.copy(d, d + <usize>j, <usize>rest);
  rxLen = rest;
  return 1;
}

function readScript(): void {
  if (scriptLen == script.byteLength) {
    const bigger = new ArrayBuffer(script.byteLength * 2);
    memory.copy(changetype<usize>(bigger), S, <usize>scriptLen);
    script = bigger;
    S = changetype<usize>(script);
  }
  flexsc.read(new flexsc.Request(onScriptRead), 0, S + <usize>scriptLen, <u32>(script.byteLength - scriptLen));
}

function onScriptRead(r: flexsc.Request): void {
  if (r.result > 0) {
    scriptLen += <i32>r.result;
    readScript();
    return;
  }
  if (r.result < 0) {
    process.stderr.write("kv-check: reading the script failed: " + flexsc.errnoName(r.result) + "\n");
    process.exit(2);
  }
  step();
}
readScript();
flexsc.run();
