// Null system call benchmark guest: makes --calls getpid calls keeping --batch of them in flight:
// each completion's handler posts the next call, as an event-driven server's handlers do. Times the
// measured part with its own monotonic clock (one synchronous clock_gettime at each end) and writes
// "start" before it and "end NS" after it, NS being the nanoseconds it took as the guest saw them:
// the host's view of the two lines also holds its own scheduling delays in reading them, which on a
// shared 2-core machine are milliseconds against a run of tens.
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

const SYS_clock_gettime = 228;
const CLOCK_MONOTONIC = 1;

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

const timespec = memory.data(16);

function monotonicNs(): i64 {
  const r = flexsc.syscallSync(SYS_clock_gettime, CLOCK_MONOTONIC, <i32>timespec);
  if (r < 0) {
    process.stderr.write("getpid bench: clock_gettime failed (" + r.toString() + ")\n");
    process.exit(1);
  }
  return load<i64>(timespec) * 1_000_000_000 + load<i64>(timespec + 8);
}

flexsc.init();
runCalls(warmup);
process.stdout.write("start\n");
const t0 = monotonicNs();
runCalls(calls);
const t1 = monotonicNs();
process.stdout.write("end " + (t1 - t0).toString() + "\n");
if (bad != 0 || done != warmup + calls) {
  process.stderr.write("getpid bench: " + bad.toString() + " bad results, " + done.toString() + " handlers\n");
  process.exit(1);
}
