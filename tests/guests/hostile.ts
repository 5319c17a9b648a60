// Bad input never crashes the host: pointers and lengths outside guest memory get -EFAULT, unknown
// system call numbers (raw entries posted with flexsc.submit) get -ENOSYS, a second registration gets
// -EALREADY, nonsense descriptors get -EBADF. Prints one `ok`/`not ok` line per check
// (tests/e2e-hostile.test.ts).
import * as flexsc from "../../guest/flexsc";
import { host_register, host_syscall } from "../../guest/flexsc/host";
import { S, step, next, submitted, nestedHandlers, remaining } from "./lib/seq";
import { check, expect, expectErr, expectOk, pass, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

expect("init", flexsc.init(), 0);
expectErr("register-twice", host_register(flexsc.controlBlock()), flexsc.EALREADY);
const pid = flexsc.processId();

/** Far past the end of memory. */
const BAD: usize = 0xffff_ff00;
/** A page of our own at the end of memory (the allocator never hands it out). */
const OWN_PAGE = memory.grow(1);
/** 8 bytes before the end of memory (now: the heap may have grown): 16 bytes there straddle the end. */
function end(): usize {
  return (<usize>memory.size() << 16) - 8;
}

const buf = new ArrayBuffer(64);
const fds = new ArrayBuffer(8);
const path = flexsc.cstr("/hostile-" + pid.toString());
const iov = new ArrayBuffer(8);
const addrLen = new ArrayBuffer(4);
const addr = flexsc.sockaddrIn(40000 + (pid % 10000));
let pr: i32 = -1;
let pw: i32 = -1;
let fileFd: i32 = -1;
let dirFd: i32 = -1;
let sock: i32 = -1;

/** A submission of raw entry `nr` through the library's generic submit (no wrapper exists). */
function raw(nr: i32, fd: i32, waits: i32): i32 {
  return flexsc.submit(S, nr, fd, 0, 0, 0, 0, 0, fd, waits);
}

step((_r: i64): void => submitted(flexsc.pipe2(S, flexsc.ptr(fds), 0), "pipe2"));
step((r: i64): void => {
  expect("pipe2", r, 0);
  pr = load<i32>(flexsc.ptr(fds));
  pw = load<i32>(flexsc.ptr(fds) + 4);
  submitted(flexsc.write(S, pw, flexsc.ptr(buf), 16), "write");
});
// ---- -EFAULT: reads and writes
step((r: i64): void => {
  expect("write-pipe", r, 16);
  submitted(flexsc.read(S, pr, BAD, 16), "read");
});
step((r: i64): void => {
  expectErr("efault-read", r, flexsc.EFAULT);
  submitted(flexsc.read(S, pr, end(), 16), "read");
});
step((r: i64): void => {
  expectErr("efault-read-straddle", r, flexsc.EFAULT);
  submitted(flexsc.read(S, pr, flexsc.ptr(buf), 64), "read");
});
step((r: i64): void => {
  // The faulting reads consumed nothing: the 16 bytes are still there.
  expect("efault-read-kept-data", r, 16);
  submitted(flexsc.write(S, 1, BAD, 16), "write");
});
step((r: i64): void => {
  expectErr("efault-write", r, flexsc.EFAULT);
  submitted(flexsc.write(S, 1, end(), 64), "write");
});
step((r: i64): void => {
  expectErr("efault-write-straddle", r, flexsc.EFAULT);
  submitted(flexsc.write(S, 1, flexsc.ptr(buf), 0x7fff_ffff), "write");
});
step((r: i64): void => {
  expectErr("efault-write-huge-length", r, flexsc.EFAULT);
  submitted(flexsc.write(S, 1, 0xffff_fff0, 0x20), "write");
});
step((r: i64): void => {
  expectErr("efault-write-wrapping", r, flexsc.EFAULT);
  store<u32>(flexsc.ptr(iov), <u32>BAD);
  store<u32>(flexsc.ptr(iov) + 4, 16);
  submitted(flexsc.writev(S, 1, flexsc.ptr(iov), 1), "writev");
});
step((r: i64): void => {
  expectErr("efault-writev-base", r, flexsc.EFAULT);
  submitted(flexsc.readv(S, pr, BAD, 1), "readv");
});
// ---- -EFAULT: paths, structures, results
step((r: i64): void => {
  expectErr("efault-readv-iov", r, flexsc.EFAULT);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, BAD, flexsc.O_RDONLY, 0), "openat");
});
step((r: i64): void => {
  expectErr("efault-openat-path", r, flexsc.EFAULT);
  // A path that runs into the end of memory without its NUL (written into our own last page).
  check("own-page-last", OWN_PAGE >= 0 && memory.size() == OWN_PAGE + 1, "memory grew past it");
  memory.fill(end(), 0x61, 8);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, end(), flexsc.O_RDONLY, 0), "openat");
});
step((r: i64): void => {
  expectErr("efault-openat-unterminated", r, flexsc.EFAULT);
  submitted(flexsc.fstat(S, 1, BAD), "fstat");
});
step((r: i64): void => {
  expectErr("efault-fstat", r, flexsc.EFAULT);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, BAD), "clock_gettime");
});
step((r: i64): void => {
  expectErr("efault-clock_gettime", r, flexsc.EFAULT);
  submitted(flexsc.pipe2(S, BAD, 0), "pipe2");
});
step((r: i64): void => {
  expectErr("efault-pipe2", r, flexsc.EFAULT);
  submitted(flexsc.nanosleep(S, BAD, 0), "nanosleep");
});
step((r: i64): void => {
  expectErr("efault-nanosleep", r, flexsc.EFAULT);
  submitted(flexsc.nanosleep(S, 0xffff_fff8, 0), "nanosleep");
});
step((r: i64): void => {
  expectErr("efault-nanosleep-wrapping", r, flexsc.EFAULT);
  submitted(flexsc.clock_nanosleep(S, flexsc.CLOCK_MONOTONIC, 0, end(), 0), "clock_nanosleep");
});
step((r: i64): void => {
  expectErr("efault-clock_nanosleep-straddle", r, flexsc.EFAULT);
  submitted(flexsc.getrandom(S, BAD, 16, 0), "getrandom");
});
step((r: i64): void => {
  expectErr("efault-getrandom", r, flexsc.EFAULT);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(path), flexsc.O_CREAT | flexsc.O_RDWR, 0o644), "openat");
});
step((r: i64): void => {
  expectOk("openat-file", r);
  fileFd = <i32>r;
  submitted(flexsc.pread64(S, fileFd, BAD, 16, 0), "pread64");
});
step((r: i64): void => {
  // An empty file: Linux returns 0 without touching the buffer; a fault is also acceptable.
  check("pread64-bad-buffer", r == 0 || r == -flexsc.EFAULT, "got " + r.toString());
  submitted(flexsc.pwrite64(S, fileFd, BAD, 16, 0), "pwrite64");
});
step((r: i64): void => {
  expectErr("efault-pwrite64", r, flexsc.EFAULT);
  submitted(flexsc.sendfile(S, pw, fileFd, BAD, 4), "sendfile");
});
step((r: i64): void => {
  expectErr("efault-sendfile-offset", r, flexsc.EFAULT);
  submitted(flexsc.openat(S, flexsc.AT_FDCWD, flexsc.ptr(flexsc.cstr("/")), flexsc.O_RDONLY | flexsc.O_DIRECTORY, 0), "openat");
});
step((r: i64): void => {
  expectOk("openat-root", r);
  dirFd = <i32>r;
  submitted(flexsc.getdents64(S, dirFd, BAD, 512), "getdents64");
});
step((r: i64): void => {
  expectErr("efault-getdents64", r, flexsc.EFAULT);
  submitted(flexsc.socket(S, flexsc.AF_INET, flexsc.SOCK_STREAM, 0), "socket");
});
step((r: i64): void => {
  expectOk("socket", r);
  sock = <i32>r;
  submitted(flexsc.bind(S, sock, BAD, 16), "bind");
});
step((r: i64): void => {
  expectErr("efault-bind", r, flexsc.EFAULT);
  submitted(flexsc.connect(S, sock, BAD, 16), "connect");
});
step((r: i64): void => {
  expectErr("efault-connect", r, flexsc.EFAULT);
  submitted(flexsc.bind(S, sock, flexsc.ptr(addr), 16), "bind");
});
step((r: i64): void => {
  expect("bind", r, 0);
  submitted(flexsc.listen(S, sock, 4), "listen");
});
step((r: i64): void => {
  expect("listen", r, 0);
  store<i32>(flexsc.ptr(addrLen), 16);
  submitted(flexsc.accept4(S, sock, BAD, flexsc.ptr(addrLen), 0), "accept4");
});
step((r: i64): void => {
  expectErr("efault-accept4-addr", r, flexsc.EFAULT);
  submitted(flexsc.accept4(S, sock, flexsc.ptr(buf), BAD, 0), "accept4");
});
// ---- -ENOSYS: raw entries with numbers no kernel implements
step((r: i64): void => {
  expectErr("efault-accept4-addrlen", r, flexsc.EFAULT);
  submitted(raw(999, -1, 0), "raw-999");
});
step((r: i64): void => {
  expectErr("enosys-999", r, flexsc.ENOSYS);
  submitted(raw(511, -1, 0), "raw-511");
});
step((r: i64): void => {
  expectErr("enosys-511", r, flexsc.ENOSYS);
  submitted(raw(512, -1, 0), "raw-512");
});
step((r: i64): void => {
  expectErr("enosys-512", r, flexsc.ENOSYS);
  submitted(raw(0x7fff_ffff, -1, 0), "raw-max");
});
step((r: i64): void => {
  expectErr("enosys-int-max", r, flexsc.ENOSYS);
  submitted(raw(-1, -1, 0), "raw-negative");
});
step((r: i64): void => {
  expectErr("enosys-negative", r, flexsc.ENOSYS);
  submitted(raw(56, -1, 0), "raw-clone");
});
step((r: i64): void => {
  expectErr("enosys-clone", r, flexsc.ENOSYS);
  // A raw entry routed by a descriptor and marked as one that may wait for an event.
  submitted(raw(777, pr, 2), "raw-777-waiting");
});
step((r: i64): void => {
  expectErr("enosys-waiting-class", r, flexsc.ENOSYS);
  expectErr("enosys-syscall-sync", flexsc.syscallSync(999), flexsc.ENOSYS);
  expectErr("enosys-syscall-sync-negative", flexsc.syscallSync(-5), flexsc.ENOSYS);
  // The `syscall` import with entries that are not posted (the last one, free; one outside the
  // pages) returns instead of waiting forever.
  const ctrl = flexsc.controlBlock();
  const pagesPtr = <usize>load<u32>(ctrl + flexsc.C_PAGES_PTR);
  const last = pagesPtr + <usize>(load<i32>(ctrl + flexsc.C_PAGE_COUNT) * 64 - 1) * 64;
  host_syscall(last);
  host_syscall(BAD);
  host_syscall(pagesPtr + 3);
  expect("syscall-import-unposted-returns", load<i32>(last), flexsc.ST_FREE);
  // ---- nonsense descriptors
  submitted(flexsc.read(S, -5, flexsc.ptr(buf), 4), "read");
});
step((r: i64): void => {
  expectErr("ebadf-negative-fd", r, flexsc.EBADF);
  submitted(flexsc.close(S, 0x7fff_ffff), "close");
});
step((r: i64): void => {
  expectErr("ebadf-huge-fd", r, flexsc.EBADF);
  // Still working after all that.
  submitted(flexsc.getpid(S), "getpid");
});
step((r: i64): void => {
  expect("getpid-after", r, pid);
  flexsc.close(null, pr);
  flexsc.close(null, pw);
  flexsc.close(null, fileFd);
  flexsc.close(null, dirFd);
  flexsc.close(null, sock);
  pass("sequence-complete");
  next(0);
});

function onExit(status: i32): i32 {
  expect("loop-status", status, 0);
  expect("steps-left", remaining(), 0);
  expect("nested-handlers", nestedHandlers, 0);
  return summary(status);
}

flexsc.onExit(onExit);
next(0);
flexsc.run();
