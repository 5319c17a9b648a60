// Prints what the virtual kernel answers to a fixed sequence of calls, one call in flight at a time:
// directory listings with inode numbers and cookies, file status, virtual clock readings around
// sleeps, getrandom bytes, descriptors, pipe and socket inodes, an ephemeral port. The same run twice
// must print the same bytes (tests/e2e-determinism.test.ts).
import * as flexsc from "../../guest/flexsc";
import { S, step, next, submitted, remaining } from "./lib/seq";
import { expect, check, line, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

flexsc.init();
const d = flexsc.cstr("/det");
const sub = flexsc.cstr("/det/sub");
const x = flexsc.cstr("/det/x.txt");
const y = flexsc.cstr("/det/y.bin");
const body = String.UTF8.encode("deterministic\n");
const dents = new ArrayBuffer(2048);
const st = flexsc.statBuffer();
const ts = new ArrayBuffer(16);
const rnd = new ArrayBuffer(32);
const fds = new ArrayBuffer(8);
const oneMs = flexsc.timespec(1_000_000);
const sevenMs = flexsc.timespec(7_000_000);
const addr = flexsc.sockaddrIn(5555);
const name = new ArrayBuffer(16);
const nameLen = new ArrayBuffer(4);
let fd: i32 = -1;
let dirFd: i32 = -1;
let lfd: i32 = -1;
let cfd: i32 = -1;

function hex(p: usize, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = load<u8>(p + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

function stat(what: string): void {
  const p = flexsc.ptr(st);
  line(
    "stat " + what + " ino=" + load<i64>(p + flexsc.STAT_ST_INO).toString() + " mode=" + load<u32>(p + flexsc.STAT_ST_MODE).toString(8) +
      " size=" + load<i64>(p + flexsc.STAT_ST_SIZE).toString() + " nlink=" + load<i64>(p + flexsc.STAT_ST_NLINK).toString() +
      " mtime=" + load<i64>(p + flexsc.STAT_ST_MTIME_SEC).toString() + "." + load<i64>(p + flexsc.STAT_ST_MTIME_NSEC).toString() +
      " blocks=" + load<i64>(p + flexsc.STAT_ST_BLOCKS).toString(),
  );
}

function clock(what: string): void {
  line("clock " + what + " " + load<i64>(flexsc.ptr(ts)).toString() + "." + load<i64>(flexsc.ptr(ts) + 8).toString());
}

step((_r: i64): void => submitted(flexsc.mkdirat(S, flexsc.AT_FDCWD, flexsc.ptr(d), 0o755), "mkdirat"));
step((r: i64): void => {
  expect("mkdirat", r, 0);
  submitted(flexsc.mkdirat(S, flexsc.AT_FDCWD, flexsc.ptr(sub), 0o700), "mkdirat");
});
step((r: i64): void => {
  expect("mkdirat-sub", r, 0);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(x), flexsc.O_CREAT | flexsc.O_WRONLY, 0o644), "openat");
});
step((r: i64): void => {
  line("fd x.txt " + r.toString());
  fd = <i32>r;
  submitted(flexsc.write(S, fd, flexsc.ptr(body), body.byteLength), "write");
});
step((r: i64): void => {
  expect("write", r, body.byteLength);
  submitted(flexsc.nanosleep(S, flexsc.ptr(oneMs), 0), "nanosleep");
});
step((r: i64): void => {
  expect("nanosleep", r, 0);
  submitted(flexsc.fstat(S, fd, flexsc.ptr(st)), "fstat");
});
step((r: i64): void => {
  expect("fstat", r, 0);
  stat("x.txt");
  flexsc.close(null, fd);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(y), flexsc.O_CREAT | flexsc.O_RDWR, 0o600), "openat");
});
step((r: i64): void => {
  line("fd y.bin " + r.toString());
  fd = <i32>r;
  submitted(flexsc.fstat(S, fd, flexsc.ptr(st)), "fstat");
});
step((r: i64): void => {
  expect("fstat-y", r, 0);
  stat("y.bin");
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(d), flexsc.O_RDONLY | flexsc.O_DIRECTORY, 0), "openat");
});
step((r: i64): void => {
  dirFd = <i32>r;
  line("fd dir " + r.toString());
  submitted(flexsc.getdents64(S, dirFd, flexsc.ptr(dents), dents.byteLength), "getdents64");
});
step((r: i64): void => {
  check("getdents64", r > 0, r.toString());
  let pos: i32 = 0;
  while (r > 0 && pos < <i32>r) {
    const rec = flexsc.ptr(dents) + <usize>pos;
    const reclen = <i32>load<u16>(rec + flexsc.LINUX_DIRENT64_D_RECLEN);
    line(
      "dirent " + String.UTF8.decodeUnsafe(rec + flexsc.LINUX_DIRENT64_SIZE, <usize>(reclen - flexsc.LINUX_DIRENT64_SIZE), true) +
        " ino=" + load<i64>(rec + flexsc.LINUX_DIRENT64_D_INO).toString() + " off=" + load<i64>(rec + flexsc.LINUX_DIRENT64_D_OFF).toString() +
        " type=" + load<u8>(rec + flexsc.LINUX_DIRENT64_D_TYPE).toString() + " reclen=" + reclen.toString(),
    );
    if (reclen <= 0) break;
    pos += reclen;
  }
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts)), "clock_gettime");
});
step((_r: i64): void => {
  clock("monotonic");
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_REALTIME, flexsc.ptr(ts)), "clock_gettime");
});
step((_r: i64): void => {
  clock("realtime");
  submitted(flexsc.clock_nanosleep(S, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(sevenMs), 0), "clock_nanosleep");
});
step((_r: i64): void => submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts)), "clock_gettime"));
step((_r: i64): void => {
  clock("monotonic-after-sleep");
  submitted(flexsc.getrandom(S, flexsc.ptr(rnd), 32, 0), "getrandom");
});
step((r: i64): void => {
  line("random " + r.toString() + " " + hex(flexsc.ptr(rnd), 32));
  submitted(flexsc.getrandom(S, flexsc.ptr(rnd), 16, 0), "getrandom");
});
step((r: i64): void => {
  line("random " + r.toString() + " " + hex(flexsc.ptr(rnd), 16));
  submitted(flexsc.pipe2(S, flexsc.ptr(fds), 0), "pipe2");
});
step((r: i64): void => {
  line("pipe " + r.toString() + " " + load<i32>(flexsc.ptr(fds)).toString() + " " + load<i32>(flexsc.ptr(fds) + 4).toString());
  submitted(flexsc.fstat(S, load<i32>(flexsc.ptr(fds)), flexsc.ptr(st)), "fstat");
});
step((_r: i64): void => {
  stat("pipe");
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  lfd = <i32>r;
  line("socket " + r.toString());
  submitted(flexsc.bind(S, lfd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE), "bind");
});
step((r: i64): void => {
  expect("bind", r, 0);
  submitted(flexsc.listen(S, lfd, 8), "listen");
});
step((r: i64): void => {
  expect("listen", r, 0);
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  cfd = <i32>r;
  line("socket " + r.toString());
  submitted(flexsc.connect(S, cfd, flexsc.ptr(addr), flexsc.SOCKADDR_IN_SIZE), "connect");
});
step((r: i64): void => {
  expect("connect", r, 0);
  store<i32>(flexsc.ptr(nameLen), 16);
  submitted(flexsc.getsockname(S, cfd, flexsc.ptr(name), flexsc.ptr(nameLen)), "getsockname");
});
step((r: i64): void => {
  line("getsockname " + r.toString() + " port=" + flexsc.sockaddrPort(flexsc.ptr(name)).toString() + " len=" + load<i32>(flexsc.ptr(nameLen)).toString());
  submitted(flexsc.accept4(S, lfd, 0, 0, 0), "accept4");
});
step((r: i64): void => {
  line("accept4 " + r.toString());
  submitted(flexsc.fstat(S, <i32>r, flexsc.ptr(st)), "fstat");
});
step((_r: i64): void => {
  stat("accepted");
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_REALTIME, flexsc.ptr(ts)), "clock_gettime");
});
step((_r: i64): void => {
  clock("realtime-end");
  line("pid " + flexsc.processId().toString());
  next(0);
});

function onExit(status: i32): i32 {
  expect("steps-left", remaining(), 0);
  return summary(status);
}
flexsc.onExit(onExit);
next(0);
flexsc.run();
