// A file-system probe for the sandbox tests (tests/e2e-os-sandbox.test.ts): each argument is an
// operation, run in order as asynchronous requests (one at a time); each prints one line
// `OP ARG = RESULT[ DETAIL]` on standard output, RESULT being the call's result (-errno on failure).
//
//   open:PATH          openat(AT_FDCWD, PATH, O_RDONLY), then close
//   keep:PATH          openat(AT_FDCWD, PATH, O_RDONLY), kept open (prints the descriptor)
//   read:PATH          open, read up to 4 kB, close: DETAIL is the text read
//   write:PATH:TEXT    openat(O_WRONLY|O_CREAT|O_TRUNC, 0644), write TEXT, close
//   stat:PATH          newfstatat(AT_FDCWD, PATH, 0): DETAIL is size=N
//   lstat:PATH         the same with AT_SYMLINK_NOFOLLOW
//   list:PATH          open O_DIRECTORY, getdents64 until the end: DETAIL is the names, sorted, without . and ..
//   mkdir:PATH  unlink:PATH  rmdir:PATH  rename:OLD:NEW  link:OLD:NEW (linkat, a hard link)
//   at:DIR:REL         open DIR, then openat(dirfd, REL, O_RDONLY), close both
//   fstat:FD  readfd:FD  close:FD   on a descriptor number given as is, or "kept": the last one kept
//                      (DETAIL of readfd: the text)
//   long:N             openat of a NUL-terminated path of N bytes ("/data/aaa.../aaa...")
//   unterminated       openat of a path that runs to the end of memory without a NUL
//   badptr             openat of a path pointer outside memory
//   hold:MS            sleep MS milliseconds (descriptors kept stay open meanwhile)
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

const ops = process.argv.slice(1);
let index = -1;
let kind = "";
let argA = "";
let argB = "";
let stage = 0;
let fd1: i32 = -1;
let fd2: i32 = -1;
let pathA = new ArrayBuffer(0);
let pathB = new ArrayBuffer(0);
let text = new ArrayBuffer(0);
let wrote: i64 = 0;
let keptFd: i32 = -1;
let listing = new Array<string>();
const buf = new ArrayBuffer(4096);
const st = flexsc.statBuffer();
const R = new flexsc.Request();

function onDone(r: flexsc.Request): void {
  step(r.result);
}

function say(result: i64, detail: string = ""): void {
  let line = kind + " " + (argB.length > 0 && kind != "write" ? argA + " " + argB : argA) + " = " + result.toString();
  if (detail.length > 0) line += " " + detail;
  process.stdout.write(line + "\n");
}

function p(s: ArrayBuffer): usize {
  return flexsc.ptr(s);
}

function nextOp(): void {
  index++;
  if (index >= ops.length) return;
  const op = ops[index];
  const c1 = op.indexOf(":");
  kind = c1 < 0 ? op : op.slice(0, c1);
  const rest = c1 < 0 ? "" : op.slice(c1 + 1);
  // Two-argument operations split at the next colon.
  if (kind == "rename" || kind == "link" || kind == "at" || kind == "write") {
    const c2 = rest.indexOf(":");
    argA = rest.slice(0, c2);
    argB = rest.slice(c2 + 1);
  } else {
    argA = rest;
    argB = "";
  }
  pathA = flexsc.cstr(argA);
  pathB = flexsc.cstr(argB);
  stage = 0;
  fd1 = -1;
  fd2 = -1;
  step(0);
}

/** Reports the last result and moves on. */
function done(result: i64, detail: string = ""): void {
  say(result, detail);
  nextOp();
}

/** The descriptor an operation names: a number, or "kept". */
function fdArg(): i32 {
  return argA == "kept" ? keptFd : I32.parseInt(argA);
}

function closeQuietly(fd: i32): void {
  if (fd >= 0) flexsc.close(null, fd);
}

function step(res: i64): void {
  const s = stage++;
  if (kind == "open" || kind == "keep") {
    if (s == 0) flexsc.openat(R, flexsc.AT_FDCWD, p(pathA), flexsc.O_RDONLY, 0);
    else {
      if (kind == "open" && res >= 0) closeQuietly(<i32>res);
      if (kind == "keep" && res >= 0) keptFd = <i32>res;
      done(res);
    }
  } else if (kind == "read") {
    if (s == 0) flexsc.openat(R, flexsc.AT_FDCWD, p(pathA), flexsc.O_RDONLY, 0);
    else if (s == 1) {
      if (res < 0) return done(res);
      fd1 = <i32>res;
      flexsc.read(R, fd1, p(buf), 4096);
    } else {
      closeQuietly(fd1);
      done(res, res > 0 ? String.UTF8.decodeUnsafe(p(buf), <usize>res) : "");
    }
  } else if (kind == "write") {
    if (s == 0) flexsc.openat(R, flexsc.AT_FDCWD, p(pathA), flexsc.O_WRONLY | flexsc.O_CREAT | flexsc.O_TRUNC, 0o644);
    else if (s == 1) {
      if (res < 0) return done(res);
      fd1 = <i32>res;
      text = String.UTF8.encode(argB);
      flexsc.write(R, fd1, p(text), text.byteLength);
    } else if (s == 2) {
      wrote = res;
      flexsc.close(R, fd1);
    } else done(res < 0 ? res : wrote);
  } else if (kind == "stat" || kind == "lstat") {
    if (s == 0) flexsc.newfstatat(R, flexsc.AT_FDCWD, p(pathA), p(st), kind == "lstat" ? flexsc.AT_SYMLINK_NOFOLLOW : 0);
    else done(res, res == 0 ? "size=" + flexsc.statSize(p(st)).toString() : "");
  } else if (kind == "list") {
    if (s == 0) {
      listing = new Array<string>();
      flexsc.openat(R, flexsc.AT_FDCWD, p(pathA), flexsc.O_RDONLY | flexsc.O_DIRECTORY, 0);
    } else if (s == 1) {
      if (res < 0) return done(res);
      fd1 = <i32>res;
      flexsc.getdents64(R, fd1, p(buf), 4096);
    } else {
      if (res > 0) {
        // struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name (NUL-terminated)
        let at: usize = 0;
        while (at < <usize>res) {
          const e = p(buf) + at;
          const reclen = load<u16>(e + 16);
          const name = String.UTF8.decodeUnsafe(e + 19, reclen - 19, true);
          if (name != "." && name != "..") listing.push(name);
          at += reclen;
        }
        flexsc.getdents64(R, fd1, p(buf), 4096);
        return;
      }
      closeQuietly(fd1);
      listing.sort();
      done(res < 0 ? res : listing.length, listing.join(","));
    }
  } else if (kind == "mkdir") {
    if (s == 0) flexsc.mkdirat(R, flexsc.AT_FDCWD, p(pathA), 0o755);
    else done(res);
  } else if (kind == "unlink" || kind == "rmdir") {
    if (s == 0) flexsc.unlinkat(R, flexsc.AT_FDCWD, p(pathA), kind == "rmdir" ? flexsc.AT_REMOVEDIR : 0);
    else done(res);
  } else if (kind == "rename") {
    if (s == 0) flexsc.renameat(R, flexsc.AT_FDCWD, p(pathA), flexsc.AT_FDCWD, p(pathB));
    else done(res);
  } else if (kind == "link") {
    if (s == 0) flexsc.linkat(R, flexsc.AT_FDCWD, p(pathA), flexsc.AT_FDCWD, p(pathB), 0);
    else done(res);
  } else if (kind == "at") {
    if (s == 0) flexsc.openat(R, flexsc.AT_FDCWD, p(pathA), flexsc.O_RDONLY | flexsc.O_DIRECTORY, 0);
    else if (s == 1) {
      if (res < 0) return done(res, "(the directory)");
      fd1 = <i32>res;
      flexsc.openat(R, fd1, p(pathB), flexsc.O_RDONLY, 0);
    } else {
      closeQuietly(fd1);
      if (res >= 0) closeQuietly(<i32>res);
      done(res);
    }
  } else if (kind == "fstat") {
    if (s == 0) flexsc.fstat(R, fdArg(), p(st));
    else done(res);
  } else if (kind == "readfd") {
    if (s == 0) flexsc.read(R, fdArg(), p(buf), 4096);
    else done(res, res > 0 ? String.UTF8.decodeUnsafe(p(buf), <usize>res) : "");
  } else if (kind == "close") {
    if (s == 0) flexsc.close(R, fdArg());
    else done(res);
  } else if (kind == "long") {
    if (s == 0) {
      // "/data/" then names of 100 bytes separated by "/" (each name is short enough), N bytes in all.
      const n = I32.parseInt(argA);
      pathA = new ArrayBuffer(n + 1);
      const q = p(pathA);
      const prefix = "/data/";
      for (let i = 0; i < n; i++) {
        let c: u8 = i < prefix.length ? <u8>prefix.charCodeAt(i) : ((i - prefix.length) % 101 == 100 ? 0x2f : 0x61);
        store<u8>(q + <usize>i, c);
      }
      store<u8>(q + <usize>n, 0);
      flexsc.openat(R, flexsc.AT_FDCWD, q, flexsc.O_RDONLY, 0);
    } else done(res);
  } else if (kind == "unterminated") {
    if (s == 0) {
      // The last 16 bytes of memory, none of them NUL (in a page of its own that the allocator
      // does not know about).
      memory.grow(1);
      const end = <usize>memory.size() << 16;
      memory.fill(end - 16, 0x61, 16);
      flexsc.openat(R, flexsc.AT_FDCWD, end - 16, flexsc.O_RDONLY, 0);
    } else done(res);
  } else if (kind == "badptr") {
    if (s == 0) flexsc.openat(R, flexsc.AT_FDCWD, (<usize>memory.size() << 16) + 4096, flexsc.O_RDONLY, 0);
    else done(res);
  } else if (kind == "hold") {
    if (s == 0) {
      text = flexsc.timespec(<i64>I32.parseInt(argA) * 1_000_000);
      flexsc.clock_nanosleep(R, flexsc.CLOCK_MONOTONIC, 0, p(text), 0);
    } else done(res);
  } else {
    done(-flexsc.EINVAL, "unknown operation");
  }
}

R.handler = onDone;
nextOp();
flexsc.run();
