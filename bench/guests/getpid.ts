// Null system call benchmark guest: makes --calls getpid calls keeping --batch of them in flight:
// each completion's handler posts the next call, as an event-driven server's handlers do. Writes
// "start" and "end" lines on standard output around the measured part; the host times the interval.
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

function argInt(name: string, fallback: i32): i32 {
  const argv = process.argv;
  for (let i = 1; i < argv.length - 1; i++) if (argv[i] == "--" + name) return <i32>parseInt(argv[i + 1], 10);
  return fallback;
}

const calls = argInt("calls", 100000);
const batch = argInt("batch", 64);
const warmup = argInt("warmup", 20000);

let left = 0;
let done = 0;
let bad = 0;

function onPid(r: flexsc.Request): void {
  done++;
  if (r.result <= 0) bad++;
  if (left > 0) {
    left--;
    flexsc.getpid(r);
  }
}

const reqs = new Array<flexsc.Request>(batch);
for (let i = 0; i < batch; i++) reqs[i] = new flexsc.Request(onPid);

function runCalls(n: i32): void {
  left = n;
  const first = n < batch ? n : batch;
  for (let i = 0; i < first; i++) {
    left--;
    flexsc.getpid(unchecked(reqs[i]));
  }
  flexsc.mainLoop();
}

flexsc.init();
runCalls(warmup);
process.stdout.write("start\n");
runCalls(calls);
process.stdout.write("end\n");
if (bad != 0 || done != warmup + calls) {
  process.stderr.write("getpid bench: " + bad.toString() + " bad results, " + done.toString() + " handlers\n");
  process.exit(1);
}
