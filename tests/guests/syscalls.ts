// End-to-end test of the guest library's submission wrappers: every wrapper of the exception-less
// core once on its success path and once on an error path, one call at a time (tests/guests/lib/seq),
// against the virtual kernel. Prints one `ok`/`not ok` line per check (tests/e2e-library.test.ts).
import * as flexsc from "../../guest/flexsc";
import { S, step, next, submitted, nestedHandlers, enterHandler, remaining } from "./lib/seq";
import { check, expect, expectErr, expectOk, pass, fail, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

flexsc.init();
const pid = flexsc.processId();
const port = 20000 + (pid % 10000);
const deadPort = 30000 + (pid % 10000);

// Paths and buffers live in globals: the kernel reads and writes them after the submit call returned.
const dir = "/e2e-calls-" + pid.toString();
const dirPath = flexsc.cstr(dir);
const subPath = flexsc.cstr(dir + "/sub");
const filePath = flexsc.cstr(dir + "/f.txt");
const missingPath = flexsc.cstr(dir + "/missing/x");
const text = String.UTF8.encode("hello, flexvm!");
const patch = String.UTF8.encode("XYZ");
const expected = "hello, XYZxvm!";
const ping = String.UTF8.encode("ping");
const rbuf = new ArrayBuffer(256);
const dbuf = new ArrayBuffer(1024);
const st = flexsc.statBuffer();
const fds = new ArrayBuffer(8);
const fds2 = new ArrayBuffer(8);
const offset = new ArrayBuffer(8);
const ts0 = new ArrayBuffer(16);
const ts1 = new ArrayBuffer(16);
const ts2 = new ArrayBuffer(16);
const sleep5 = flexsc.timespec(5_000_000);
const sleep3 = flexsc.timespec(3_000_000);
const badSleep = new ArrayBuffer(16);
store<i64>(flexsc.ptr(badSleep), 0);
store<i64>(flexsc.ptr(badSleep) + 8, 2_000_000_000); // tv_nsec out of range
const addr = flexsc.sockaddrIn(port);
const deadAddr = flexsc.sockaddrIn(deadPort);
const peer = new ArrayBuffer(16);
const peerLen = new ArrayBuffer(4);

let fileFd: i32 = -1;
let dirFd: i32 = -1;
let pipeR: i32 = -1;
let pipeW: i32 = -1;
let lfd: i32 = -1;
let s2: i32 = -1;
let cfd: i32 = -1;
let afd: i32 = -1;
let fileIno: i64 = -1;

function text_(p: usize, n: i32): string {
  return String.UTF8.decodeUnsafe(p, <usize>n);
}

// Two calls in flight at once (accept4 and connect): both handlers join, then the sequence goes on.
let joinLeft = 0;
class Joined extends flexsc.Request {
  runs: i32 = 0;
}
function onJoined(r: flexsc.Request): void {
  enterHandler();
  changetype<Joined>(r).runs++;
  if (--joinLeft == 0) next(0);
}
const acceptReq = new Joined(onJoined);
const connectReq = new Joined(onJoined);

// ---- files: mkdirat, openat, write, lseek, read, pwrite64, pread64, fstat
step((_r: i64): void => submitted(flexsc.mkdirat(S, flexsc.AT_FDCWD, flexsc.ptr(dirPath), 0o755), "mkdirat"));
step((r: i64): void => {
  expect("mkdirat", r, 0);
  submitted(flexsc.mkdirat(S, flexsc.AT_FDCWD, flexsc.ptr(subPath), 0o755), "mkdirat");
});
step((r: i64): void => {
  expect("mkdirat-sub", r, 0);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(filePath), flexsc.O_CREAT | flexsc.O_RDWR | flexsc.O_TRUNC, 0o644), "openat");
});
step((r: i64): void => {
  expectOk("openat", r);
  fileFd = <i32>r;
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(missingPath), flexsc.O_RDONLY, 0), "openat");
});
step((r: i64): void => {
  expectErr("openat-enoent", r, flexsc.ENOENT);
  submitted(flexsc.write(S, fileFd, flexsc.ptr(text), text.byteLength), "write");
});
step((r: i64): void => {
  expect("write", r, text.byteLength);
  submitted(flexsc.write(S, 9999, flexsc.ptr(text), 1), "write");
});
step((r: i64): void => {
  expectErr("write-ebadf", r, flexsc.EBADF);
  submitted(flexsc.lseek(S, fileFd, 0, flexsc.SEEK_SET), "lseek");
});
step((r: i64): void => {
  expect("lseek", r, 0);
  submitted(flexsc.lseek(S, fileFd, 0, 99), "lseek");
});
step((r: i64): void => {
  expectErr("lseek-einval", r, flexsc.EINVAL);
  submitted(flexsc.read(S, fileFd, flexsc.ptr(rbuf), 64), "read");
});
step((r: i64): void => {
  expect("read", r, text.byteLength);
  check("read-data", r > 0 && text_(flexsc.ptr(rbuf), <i32>r) == "hello, flexvm!", "data differs");
  submitted(flexsc.read(S, 9999, flexsc.ptr(rbuf), 64), "read");
});
step((r: i64): void => {
  expectErr("read-ebadf", r, flexsc.EBADF);
  submitted(flexsc.pwrite64(S, fileFd, flexsc.ptr(patch), patch.byteLength, 7), "pwrite64");
});
step((r: i64): void => {
  expect("pwrite64", r, patch.byteLength);
  submitted(flexsc.pread64(S, fileFd, flexsc.ptr(rbuf), 64, 0), "pread64");
});
step((r: i64): void => {
  expect("pread64", r, 14);
  check("pread64-data", r > 0 && text_(flexsc.ptr(rbuf), <i32>r) == expected, "got " + (r > 0 ? text_(flexsc.ptr(rbuf), <i32>r) : ""));
  submitted(flexsc.pread64(S, fileFd, flexsc.ptr(rbuf), 4, -1), "pread64");
});
step((r: i64): void => {
  expectErr("pread64-einval", r, flexsc.EINVAL);
  submitted(flexsc.pwrite64(S, fileFd, flexsc.ptr(patch), 1, -5), "pwrite64");
});
step((r: i64): void => {
  expectErr("pwrite64-einval", r, flexsc.EINVAL);
  submitted(flexsc.fstat(S, fileFd, flexsc.ptr(st)), "fstat");
});
step((r: i64): void => {
  expect("fstat", r, 0);
  check("fstat-size", flexsc.statSize(flexsc.ptr(st)) == 14, "size " + flexsc.statSize(flexsc.ptr(st)).toString());
  check("fstat-mode", (flexsc.statMode(flexsc.ptr(st)) & <u32>flexsc.S_IFMT) == <u32>flexsc.S_IFREG, "mode " + flexsc.statMode(flexsc.ptr(st)).toString());
  fileIno = load<i64>(flexsc.ptr(st) + flexsc.STAT_ST_INO);
  submitted(flexsc.fstat(S, 9999, flexsc.ptr(st)), "fstat");
});
// ---- directories: getdents64, close
step((r: i64): void => {
  expectErr("fstat-ebadf", r, flexsc.EBADF);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(dirPath), flexsc.O_RDONLY | flexsc.O_DIRECTORY, 0), "openat");
});
step((r: i64): void => {
  expectOk("openat-directory", r);
  dirFd = <i32>r;
  submitted(flexsc.getdents64(S, dirFd, flexsc.ptr(dbuf), dbuf.byteLength), "getdents64");
});
step((r: i64): void => {
  expectOk("getdents64", r);
  let names = "";
  let fileInoSeen: i64 = -2;
  let subType: i32 = -1;
  let pos: i32 = 0;
  const base = flexsc.ptr(dbuf);
  while (r > 0 && pos < <i32>r) {
    const rec = base + <usize>pos;
    const reclen = <i32>load<u16>(rec + flexsc.LINUX_DIRENT64_D_RECLEN);
    const name = String.UTF8.decodeUnsafe(rec + flexsc.LINUX_DIRENT64_SIZE, <usize>(reclen - flexsc.LINUX_DIRENT64_SIZE), true);
    names += name + ",";
    if (name == "f.txt") fileInoSeen = load<i64>(rec + flexsc.LINUX_DIRENT64_D_INO);
    if (name == "sub") subType = <i32>load<u8>(rec + flexsc.LINUX_DIRENT64_D_TYPE);
    if (reclen <= 0) break;
    pos += reclen;
  }
  check("getdents64-names", names.includes(".,") && names.includes("..,") && names.includes("f.txt,") && names.includes("sub,"), "names " + names);
  check("getdents64-ino", fileInoSeen == fileIno, "d_ino " + fileInoSeen.toString() + " st_ino " + fileIno.toString());
  check("getdents64-type", subType == flexsc.DT_DIR, "d_type " + subType.toString());
  submitted(flexsc.getdents64(S, dirFd, flexsc.ptr(dbuf), dbuf.byteLength), "getdents64");
});
step((r: i64): void => {
  expect("getdents64-end", r, 0);
  submitted(flexsc.getdents64(S, fileFd, flexsc.ptr(dbuf), dbuf.byteLength), "getdents64");
});
step((r: i64): void => {
  expectErr("getdents64-enotdir", r, flexsc.ENOTDIR);
  submitted(flexsc.close(S, dirFd), "close");
});
step((r: i64): void => {
  expect("close", r, 0);
  submitted(flexsc.close(S, dirFd), "close");
});
// ---- pipes and sendfile
step((r: i64): void => {
  expectErr("close-ebadf", r, flexsc.EBADF);
  submitted(flexsc.pipe2(S, flexsc.ptr(fds), 0), "pipe2");
});
step((r: i64): void => {
  expect("pipe2", r, 0);
  pipeR = load<i32>(flexsc.ptr(fds));
  pipeW = load<i32>(flexsc.ptr(fds) + 4);
  check("pipe2-fds", pipeR >= 3 && pipeW >= 3 && pipeR != pipeW, pipeR.toString() + " " + pipeW.toString());
  submitted(flexsc.pipe2(S, flexsc.ptr(fds2), 0xdead00), "pipe2");
});
step((r: i64): void => {
  expectErr("pipe2-einval", r, flexsc.EINVAL);
  submitted(flexsc.lseek(S, pipeR, 0, flexsc.SEEK_SET), "lseek");
});
step((r: i64): void => {
  expectErr("lseek-espipe", r, flexsc.ESPIPE);
  store<i64>(flexsc.ptr(offset), 0);
  submitted(flexsc.sendfile(S, pipeW, fileFd, flexsc.ptr(offset), 14), "sendfile");
});
step((r: i64): void => {
  expect("sendfile", r, 14);
  expect("sendfile-offset", load<i64>(flexsc.ptr(offset)), 14);
  submitted(flexsc.read(S, pipeR, flexsc.ptr(rbuf), 64), "read");
});
step((r: i64): void => {
  check("sendfile-data", r == 14 && text_(flexsc.ptr(rbuf), 14) == expected, "read " + r.toString());
  submitted(flexsc.sendfile(S, pipeW, 9999, 0, 4), "sendfile");
});
// ---- sockets: socket, bind, listen, accept4, connect, shutdown
step((r: i64): void => {
  expectErr("sendfile-ebadf", r, flexsc.EBADF);
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  expectOk("socket", r);
  lfd = <i32>r;
  submitted(flexsc.socket(S, 12345, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  expectErr("socket-eafnosupport", r, flexsc.EAFNOSUPPORT);
  submitted(flexsc.bind(S, lfd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE), "bind");
});
step((r: i64): void => {
  expect("bind", r, 0);
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  expectOk("socket-second", r);
  s2 = <i32>r;
  submitted(flexsc.bind(S, s2, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE), "bind");
});
step((r: i64): void => {
  expectErr("bind-eaddrinuse", r, flexsc.EADDRINUSE);
  submitted(flexsc.listen(S, pipeR, 16), "listen");
});
step((r: i64): void => {
  expectErr("listen-enotsock", r, flexsc.ENOTSOCK);
  submitted(flexsc.listen(S, lfd, 16), "listen");
});
step((r: i64): void => {
  expect("listen", r, 0);
  submitted(flexsc.accept4(S, s2, 0, 0, 0), "accept4");
});
step((r: i64): void => {
  expectErr("accept4-einval", r, flexsc.EINVAL);
  submitted(flexsc.connect(S, s2, flexsc.ptr(deadAddr), flexsc.SOCKADDR_IN_SIZE), "connect");
});
step((r: i64): void => {
  expectErr("connect-econnrefused", r, flexsc.ECONNREFUSED);
  submitted(flexsc.shutdown(S, s2, flexsc.SHUT_RDWR), "shutdown");
});
step((r: i64): void => {
  expectErr("shutdown-enotconn", r, flexsc.ENOTCONN);
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  expectOk("socket-client", r);
  cfd = <i32>r;
  // accept4 waits for the connection that connect makes: two calls in flight.
  store<i32>(flexsc.ptr(peerLen), 16);
  joinLeft = 2;
  submitted(flexsc.accept4(acceptReq, lfd, flexsc.ptr(peer), flexsc.ptr(peerLen), 0), "accept4");
  submitted(flexsc.connect(connectReq, cfd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE), "connect");
});
step((_r: i64): void => {
  expectOk("accept4", acceptReq.result);
  expect("connect", connectReq.result, 0);
  expect("accept4-peer-family", <i64>load<u16>(flexsc.ptr(peer)), flexsc.AF_INET);
  expect("accept4-peer-len", <i64>load<i32>(flexsc.ptr(peerLen)), 16);
  afd = <i32>acceptReq.result;
  submitted(flexsc.write(S, cfd, flexsc.ptr(ping), ping.byteLength), "write");
});
step((r: i64): void => {
  expect("socket-write", r, 4);
  submitted(flexsc.read(S, afd, flexsc.ptr(rbuf), 64), "read");
});
step((r: i64): void => {
  check("socket-read", r == 4 && text_(flexsc.ptr(rbuf), 4) == "ping", "read " + r.toString());
  submitted(flexsc.shutdown(S, cfd, flexsc.SHUT_WR), "shutdown");
});
step((r: i64): void => {
  expect("shutdown", r, 0);
  submitted(flexsc.read(S, afd, flexsc.ptr(rbuf), 64), "read");
});
// ---- time: clock_gettime, clock_nanosleep, nanosleep
step((r: i64): void => {
  expect("shutdown-eof", r, 0);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts0)), "clock_gettime");
});
step((r: i64): void => {
  expect("clock_gettime", r, 0);
  check("clock_gettime-positive", flexsc.timespecNs(flexsc.ptr(ts0)) > 0, "zero clock");
  submitted(flexsc.clock_gettime(S, 77, flexsc.ptr(ts2)), "clock_gettime");
});
step((r: i64): void => {
  expectErr("clock_gettime-einval", r, flexsc.EINVAL);
  submitted(flexsc.clock_nanosleep(S, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(sleep5), 0), "clock_nanosleep");
});
step((r: i64): void => {
  expect("clock_nanosleep", r, 0);
  submitted(flexsc.nanosleep(S, flexsc.ptr(sleep3), 0), "nanosleep");
});
step((r: i64): void => {
  expect("nanosleep", r, 0);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts1)), "clock_gettime");
});
step((r: i64): void => {
  expect("clock_gettime-after-sleep", r, 0);
  const slept = flexsc.timespecNs(flexsc.ptr(ts1)) - flexsc.timespecNs(flexsc.ptr(ts0));
  check("sleep-elapsed", slept >= 8_000_000, "slept " + slept.toString() + " ns");
  submitted(flexsc.nanosleep(S, flexsc.ptr(badSleep), 0), "nanosleep");
});
step((r: i64): void => {
  expectErr("nanosleep-einval", r, flexsc.EINVAL);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_REALTIME, flexsc.ptr(ts0)), "clock_gettime");
});
step((r: i64): void => {
  expect("clock_gettime-realtime", r, 0);
  check("clock_gettime-realtime-epoch", flexsc.timespecNs(flexsc.ptr(ts0)) > 1_000_000_000 * 1_000_000_000, "realtime " + flexsc.timespecNs(flexsc.ptr(ts0)).toString());
  // An absolute realtime deadline 2 ms ahead.
  const until = flexsc.timespecNs(flexsc.ptr(ts0)) + 2_000_000;
  store<i64>(flexsc.ptr(ts2), until / 1_000_000_000);
  store<i64>(flexsc.ptr(ts2) + 8, until % 1_000_000_000);
  submitted(flexsc.clock_nanosleep(S, flexsc.CLOCK_REALTIME, flexsc.TIMER_ABSTIME, flexsc.ptr(ts2), 0), "clock_nanosleep");
});
step((r: i64): void => {
  expect("clock_nanosleep-abstime-realtime", r, 0);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_REALTIME, flexsc.ptr(ts1)), "clock_gettime");
});
step((r: i64): void => {
  const now = flexsc.timespecNs(flexsc.ptr(ts1));
  const until = flexsc.timespecNs(flexsc.ptr(ts2));
  check("clock_nanosleep-abstime-reached", r == 0 && now >= until && now - until < 1_000_000_000, "woke " + (now - until).toString() + " ns after the deadline");
  submitted(flexsc.clock_nanosleep(S, 99, 0, flexsc.ptr(sleep3), 0), "clock_nanosleep");
});
// ---- getpid (it cannot fail; its error path is the library's: a request still in flight)
step((r: i64): void => {
  expectErr("clock_nanosleep-einval", r, flexsc.EINVAL);
  submitted(flexsc.getpid(S), "getpid");
  expectErr("getpid-ebusy", flexsc.getpid(S), flexsc.EBUSY);
});
step((r: i64): void => {
  expect("getpid", r, pid);
  check("getpid-positive", pid > 0, pid.toString());
  // Fire and forget: the descriptors close without handlers.
  const all: i32[] = [afd, cfd, lfd, s2, pipeR, pipeW, fileFd];
  for (let i = 0; i < all.length; i++) {
    const rc = flexsc.close(null, all[i]);
    if (rc != 0) fail("close-null", rc.toString());
  }
  pass("sequence-complete");
  next(0);
});

function onExit(status: i32): i32 {
  expect("loop-status", status, 0);
  expect("steps-left", remaining(), 0);
  expect("nested-handlers", nestedHandlers, 0);
  expect("accept-handler-runs", acceptReq.runs, 1);
  expect("connect-handler-runs", connectReq.runs, 1);
  expect("pending-at-exit", flexsc.pending(), 0);
  return summary(status);
}

flexsc.onExit(onExit);
next(0);
flexsc.run();
