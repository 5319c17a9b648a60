// Echo client: opens --conns connections to the echo server, sends --messages messages of --size
// bytes on each (one outstanding message per connection), checks every byte that comes back, and
// exits 0 when all matched. Connection attempts are retried while the server is starting.
//
//   flexvm run examples/echo/client.wasm -- [--port 7] [--conns 4] [--messages 100] [--size 64]
import * as flexsc from "../../guest/flexsc";
import { Args, logLine } from "../lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args("echo-client");
const port = args.int("port", 7, 1, 65535);
const conns = args.int("conns", 4, 1, 1 << 20);
const messages = args.int("messages", 100, 0);
const size = args.int("size", 64, 1, 1 << 24);
const retries = args.int("retries", 200, 0);
args.done();

let finished = 0;
let bytesEchoed: i64 = 0;
const retryDelay = flexsc.timespec(10_000_000);
const addr = flexsc.sockaddrIn(port);

class Conn extends flexsc.Request {
  id: i32;
  fd: i32 = -1;
  sent: i32 = 0;
  out: ArrayBuffer = new ArrayBuffer(size);
  inb: ArrayBuffer = new ArrayBuffer(size);
  got: i32 = 0;
  attempts: i32 = 0;
  constructor(id: i32) {
    super(onSocket);
    this.id = id;
  }
}

function fail(c: Conn, what: string, r: i64): void {
  logLine("echo-client: connection " + c.id.toString() + ": " + what + ": " + (r < 0 ? flexsc.errnoName(r) + " (" + r.toString() + ")" : r.toString()));
  process.exit(1);
}

function onSocket(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result < 0) fail(c, "socket", r.result);
  c.fd = <i32>r.result;
  c.handler = onConnected;
  flexsc.connect(c, c.fd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE);
}

function onConnected(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result == -flexsc.ECONNREFUSED && ++c.attempts < retries) {
    // The server may still be starting: wait 10 ms and try again on a fresh socket.
    flexsc.close(null, c.fd);
    c.handler = onRetry;
    flexsc.nanosleep(c, flexsc.ptr(retryDelay), 0);
    return;
  }
  if (r.result < 0) fail(c, "connect", r.result);
  sendNext(c);
}

function onRetry(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  c.handler = onSocket;
  flexsc.socket(c, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
}

function sendNext(c: Conn): void {
  // A recognisable pattern per connection and message, so a mix-up cannot go unnoticed.
  const p = flexsc.ptr(c.out);
  for (let i = 0; i < size; i++) store<u8>(p + <usize>i, <u8>(c.id * 31 + c.sent * 7 + i));
  c.got = 0;
  c.handler = onWritten;
  flexsc.write(c, c.fd, p, size);
}

function onWritten(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result != <i64>size) fail(c, "write", r.result);
  c.handler = onRead;
  flexsc.read(c, c.fd, flexsc.ptr(c.inb), size);
}

function onRead(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result <= 0) fail(c, "read", r.result);
  c.got += <i32>r.result;
  if (c.got < size) {
    flexsc.read(c, c.fd, flexsc.ptr(c.inb) + <usize>c.got, size - c.got);
    return;
  }
  if (memory.compare(flexsc.ptr(c.inb), flexsc.ptr(c.out), size) != 0) fail(c, "echo mismatch at message", c.sent);
  bytesEchoed += size;
  c.sent++;
  if (c.sent < messages) {
    sendNext(c);
    return;
  }
  flexsc.close(null, c.fd);
  finished++;
}

function report(status: i32): i32 {
  if (status != 0) return status;
  if (finished != conns) {
    logLine("echo-client: only " + finished.toString() + " of " + conns.toString() + " connections finished");
    return 1;
  }
  process.stdout.write("echo-client: " + conns.toString() + " connections x " + messages.toString() + " messages of " + size.toString() + " bytes echoed (" + bytesEchoed.toString() + " bytes)\n");
  return 0;
}

for (let i = 0; i < conns; i++) flexsc.socket(new Conn(i), flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
flexsc.onExit(report);
flexsc.run();
