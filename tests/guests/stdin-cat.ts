// Standard input as a stream (tests/e2e-stdin-stream.test.ts): copies fd 0 to fd 1 as it arrives,
// one read in flight at a time, until end of file, then writes `read N bytes` to fd 2.
// `--poll`: waits with poll(fd 0, POLLIN) before each read and checks what it reports (POLLIN with
// data; POLLIN | POLLHUP at the end). `--delay-ms N`: sleeps before the first read (a guest that does
// not read yet: the host must not buffer its input without bound meanwhile).
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args("stdin-cat");
const usePoll = args.has("poll");
const delayMs = args.int("delay-ms", 0, 0);
args.done();

const BUF = 64 * 1024;
const buf = new ArrayBuffer(BUF);
const pfd = new ArrayBuffer(flexsc.POLLFD_SIZE);
const delay = new ArrayBuffer(flexsc.TIMESPEC_SIZE);
let total: i64 = 0;
let pending: i32 = 0;
let written: i32 = 0;

function fail(what: string, result: i64): void {
  process.stderr.write("stdin-cat: " + what + " failed: " + result.toString() + "\n");
  process.exit(1);
}

function next(): void {
  if (usePoll) {
    store<i32>(flexsc.ptr(pfd) + flexsc.POLLFD_FD, 0);
    store<i16>(flexsc.ptr(pfd) + flexsc.POLLFD_EVENTS, <i16>flexsc.POLLIN);
    store<i16>(flexsc.ptr(pfd) + flexsc.POLLFD_REVENTS, 0);
    flexsc.poll(new flexsc.Request(onPoll), flexsc.ptr(pfd), 1, -1);
  } else read();
}

function read(): void {
  flexsc.read(new flexsc.Request(onRead), 0, flexsc.ptr(buf), BUF);
}

function onPoll(r: flexsc.Request): void {
  if (r.result != 1) fail("poll", r.result);
  const revents = <i32>load<i16>(flexsc.ptr(pfd) + flexsc.POLLFD_REVENTS);
  if ((revents & flexsc.POLLIN) == 0 && (revents & flexsc.POLLHUP) == 0) fail("poll's revents", revents);
  read();
}

function onRead(r: flexsc.Request): void {
  if (r.result < 0) fail("read", r.result);
  if (r.result == 0) {
    process.stderr.write("read " + total.toString() + " bytes\n");
    return;
  }
  total += r.result;
  pending = <i32>r.result;
  written = 0;
  flexsc.write(new flexsc.Request(onWrite), 1, flexsc.ptr(buf), <u32>pending);
}

function onWrite(r: flexsc.Request): void {
  if (r.result <= 0) fail("write", r.result);
  written += <i32>r.result;
  if (written < pending) flexsc.write(new flexsc.Request(onWrite), 1, flexsc.ptr(buf) + <usize>written, <u32>(pending - written));
  else next();
}

function onDelay(r: flexsc.Request): void {
  next();
}

if (delayMs > 0) {
  store<i64>(flexsc.ptr(delay) + flexsc.TIMESPEC_TV_SEC, <i64>(delayMs / 1000));
  store<i64>(flexsc.ptr(delay) + flexsc.TIMESPEC_TV_NSEC, <i64>(delayMs % 1000) * 1000000);
  flexsc.clock_nanosleep(new flexsc.Request(onDelay), flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(delay), 0);
} else next();
flexsc.run();
