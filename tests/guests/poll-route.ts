// poll routing (tests/e2e-os-poll.test.ts): opens --pipes pipes (their creation spreads over the
// syscall threads), writes a byte into each, then polls each read end for POLLIN and both ends of
// each pipe together. With the os kernel a descriptor lives on the thread that created it, so every
// poll must go to the thread owning its first descriptor. Prints `polled OK BAD` and exits 0 when
// every poll reported the byte.
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const POLLIN: i16 = 1;
const POLLOUT: i16 = 4;
const args = new Args();
const pipes = args.int("pipes", 8);

let created = 0;
let written = 0;
let ok = 0;
let bad = 0;
const one = new ArrayBuffer(1);

class Pipe extends flexsc.Request {
  fds: ArrayBuffer = new ArrayBuffer(8);
  /** struct pollfd { int fd; short events; short revents; } x 2 */
  pfds: ArrayBuffer = new ArrayBuffer(16);
  both: bool = false;
  constructor() {
    super(onCreated);
  }
  fd(i: i32): i32 {
    return load<i32>(flexsc.ptr(this.fds) + <usize>(i * 4));
  }
}

const all = new Array<Pipe>();

function onCreated(r: flexsc.Request): void {
  const p = changetype<Pipe>(r);
  if (r.result != 0) {
    process.stdout.write("pipe2 failed: " + r.result.toString() + "\n");
    process.exit(1);
  }
  if (++created == pipes) for (let i = 0; i < all.length; i++) writeOne(all[i]);
}

function writeOne(p: Pipe): void {
  p.handler = onWritten;
  flexsc.write(p, p.fd(1), flexsc.ptr(one), 1);
}

function onWritten(r: flexsc.Request): void {
  if (r.result != 1) bad++;
  if (++written == pipes) for (let i = 0; i < all.length; i++) pollOne(all[i]);
}

function pollOne(p: Pipe): void {
  const a = flexsc.ptr(p.pfds);
  store<i32>(a, p.fd(0));
  store<i16>(a + 4, POLLIN);
  store<i16>(a + 6, 0);
  store<i32>(a + 8, p.fd(1));
  store<i16>(a + 12, POLLOUT);
  store<i16>(a + 14, 0);
  p.handler = onPolled;
  flexsc.poll(p, a, p.both ? 2 : 1, 1000);
}

function onPolled(r: flexsc.Request): void {
  const p = changetype<Pipe>(r);
  const a = flexsc.ptr(p.pfds);
  const want: i64 = p.both ? 2 : 1;
  const good = r.result == want && load<i16>(a + 6) == POLLIN && (!p.both || load<i16>(a + 14) == POLLOUT);
  if (good) ok++;
  else {
    bad++;
    process.stdout.write("poll of fd " + p.fd(0).toString() + (p.both ? " and " + p.fd(1).toString() : "") + ": " + r.result.toString() + "\n");
  }
  if (!p.both) {
    p.both = true;
    pollOne(p);
    return;
  }
  if (ok + bad == 2 * pipes) {
    process.stdout.write("polled " + ok.toString() + " " + bad.toString() + "\n");
    process.exit(bad == 0 ? 0 : 1);
  }
}

for (let i = 0; i < pipes; i++) {
  const p = new Pipe();
  all.push(p);
  flexsc.pipe2(p, flexsc.ptr(p.fds), 0);
}
flexsc.run();
