// A guest trying to escape its read-write grant by racing itself (issue 8, defect 1): one request
// chain keeps swapping the directory /data/d with the symlink /data/evil (which leads out of the
// grant): rename d -> d2, evil -> d, d -> evil, d2 -> d; meanwhile several chains open, read, truncate,
// create and stat paths through /data/d. With two or more syscall threads the calls land on different
// threads (calls without a descriptor go round-robin), so resolutions run while the renames do.
//
//   --rounds N   swap rounds (default 2000)
//   --probers N  concurrent probing chains (default 3)
//
// Prints `rounds=R probes=P inside=I escapes=E`: probes that read the inside file, and probes that
// read a file whose text is OUTSIDE (an escape). The host test also checks the outside files.
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

const args = process.argv;
function arg(name: string, dflt: i32): i32 {
  for (let i = 1; i + 1 < args.length; i++) if (args[i] == name) return I32.parseInt(args[i + 1]);
  return dflt;
}

const ROUNDS = arg("--rounds", 2000);
const PROBERS = arg("--probers", 3);

const D = flexsc.cstr("/data/d");
const D2 = flexsc.cstr("/data/d2");
const EVIL = flexsc.cstr("/data/evil");
const TARGET = flexsc.cstr("/data/d/target.txt");
const VICTIM = flexsc.cstr("/data/d/victim.txt");
const MADE = flexsc.cstr("/data/d/made.txt");
const p = (b: ArrayBuffer): usize => flexsc.ptr(b);

let round = 0;
let swapping = true;
let probes = 0;
let inside = 0;
let escapes = 0;
let active = 0;

class Swapper extends flexsc.Request {
  stage: i32 = 0;
}

function onSwap(r: flexsc.Request): void {
  const s = <Swapper>r;
  const st = s.stage++ & 3;
  if (st == 0) {
    if (round++ >= ROUNDS) {
      swapping = false;
      return finish();
    }
    flexsc.renameat(s, flexsc.AT_FDCWD, p(D), flexsc.AT_FDCWD, p(D2));
  } else if (st == 1) flexsc.renameat(s, flexsc.AT_FDCWD, p(EVIL), flexsc.AT_FDCWD, p(D));
  else if (st == 2) flexsc.renameat(s, flexsc.AT_FDCWD, p(D), flexsc.AT_FDCWD, p(EVIL));
  else flexsc.renameat(s, flexsc.AT_FDCWD, p(D2), flexsc.AT_FDCWD, p(D));
}

class Prober extends flexsc.Request {
  stage: i32 = 0;
  fd: i32 = -1;
  buf: ArrayBuffer = new ArrayBuffer(64);
  st: ArrayBuffer = flexsc.statBuffer();
}

function onProbe(r: flexsc.Request): void {
  const q = <Prober>r;
  const res = r.result;
  const st = q.stage++;
  if (st == 0) {
    if (!swapping) return finish();
    flexsc.openat(q, flexsc.AT_FDCWD, p(TARGET), flexsc.O_RDONLY, 0);
  } else if (st == 1) {
    if (res < 0) return restart(q);
    q.fd = <i32>res;
    flexsc.read(q, q.fd, p(q.buf), 64);
  } else if (st == 2) {
    probes++;
    if (res > 0) {
      const text = String.UTF8.decodeUnsafe(p(q.buf), <usize>res);
      if (text == "OUTSIDE") escapes++;
      else inside++;
    }
    flexsc.close(q, q.fd);
  } else if (st == 3) {
    flexsc.openat(q, flexsc.AT_FDCWD, p(VICTIM), flexsc.O_WRONLY | flexsc.O_TRUNC, 0);
  } else if (st == 4) {
    if (res < 0) return restart(q);
    flexsc.close(q, <i32>res);
  } else if (st == 5) {
    flexsc.openat(q, flexsc.AT_FDCWD, p(MADE), flexsc.O_WRONLY | flexsc.O_CREAT, 0o644);
  } else if (st == 6) {
    if (res < 0) return restart(q);
    flexsc.close(q, <i32>res);
  } else {
    restart(q);
  }
}

function restart(q: Prober): void {
  q.stage = 0;
  onProbe(q);
}

function finish(): void {
  if (--active > 0) return;
  process.stdout.write(
    "rounds=" + (round - 1).toString() + " probes=" + probes.toString() + " inside=" + inside.toString() + " escapes=" + escapes.toString() + "\n",
  );
}

const swapper = new Swapper(onSwap);
active = 1 + PROBERS;
onSwap(swapper);
for (let i = 0; i < PROBERS; i++) {
  const q = new Prober(onProbe);
  onProbe(q);
}
flexsc.run();
