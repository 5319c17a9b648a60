// File work benchmark guest: opens --files files under --dir (each openat goes to the next syscall
// thread, so the descriptors spread over the threads) and keeps --inflight pread64 calls of --size
// bytes in flight at random offsets until --reads reads completed. Prints "start"/"end" around the
// measured part, like the getpid guest.
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

function arg(name: string, fallback: string): string {
  const argv = process.argv;
  for (let i = 1; i < argv.length - 1; i++) if (argv[i] == "--" + name) return argv[i + 1];
  return fallback;
}
const dir = arg("dir", "/data");
const files = <i32>parseInt(arg("files", "8"), 10);
const fileSize = <i64>parseInt(arg("file-size", "1048576"), 10);
const size = <i32>parseInt(arg("size", "4096"), 10);
const inflight = <i32>parseInt(arg("inflight", "64"), 10);
const reads = <i32>parseInt(arg("reads", "100000"), 10);

const fds = new Array<i32>(files);
let opened = 0;
let left = 0;
let done = 0;
let failed = 0;
let seed: u32 = 12345;

function nextOffset(): i64 {
  seed = seed * 1103515245 + 12345;
  const blocks = <u32>((fileSize - size) / size);
  return <i64>((seed >> 8) % (blocks + 1)) * size;
}

class Reader extends flexsc.Request {
  buf: ArrayBuffer = new ArrayBuffer(size);
  k: i32 = 0;
}

function issue(r: Reader): void {
  left--;
  r.k = (r.k + 1) % files;
  flexsc.pread64(r, unchecked(fds[r.k]), flexsc.ptr(r.buf), size, nextOffset());
}

function onRead(req: flexsc.Request): void {
  const r = changetype<Reader>(req);
  if (req.result != <i64>size) failed++;
  done++;
  if (left > 0) issue(r);
}

class Opener extends flexsc.Request {
  i: i32;
  path: ArrayBuffer;
  constructor(i: i32) {
    super(onOpened);
    this.i = i;
    this.path = flexsc.cstr(dir + "/f" + i.toString());
  }
}

function onOpened(req: flexsc.Request): void {
  const o = changetype<Opener>(req);
  if (req.result < 0) {
    process.stderr.write("fileread: open " + dir + "/f" + o.i.toString() + ": " + req.result.toString() + "\n");
    process.exit(1);
  }
  unchecked((fds[o.i] = <i32>req.result));
  opened++;
}

const openers = new Array<Opener>(files);
for (let i = 0; i < files; i++) {
  const o = new Opener(i);
  openers[i] = o;
  flexsc.openat(o, flexsc.AT_FDCWD, flexsc.ptr(o.path), flexsc.O_RDONLY, 0);
}
flexsc.mainLoop();

const readers = new Array<Reader>(inflight);
for (let i = 0; i < inflight; i++) {
  const r = new Reader(onRead);
  r.k = i % files;
  readers[i] = r;
}

function runReads(n: i32): void {
  left = n;
  for (let i = 0; i < inflight && left > 0; i++) issue(unchecked(readers[i]));
  flexsc.mainLoop();
}

runReads(reads / 10);
process.stdout.write("start\n");
runReads(reads);
process.stdout.write("end\n");
if (failed != 0) {
  process.stderr.write("fileread: " + failed.toString() + " short or failed reads\n");
  process.exit(1);
}
