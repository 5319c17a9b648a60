// Resource limits as a guest meets them (tests/e2e-cli.test.ts: --max-fds, --max-pending).
//
//   --sockets N     opens sockets one after the other until one fails or N are open, then prints
//                   `descriptors OPENED RESULT` (RESULT: the failing call's -errno, 0 if none failed)
//   --sleeps S      then submits S sleeps of --sleep-ms at once and, when all have completed, prints
//                   `sleeps SLEPT EAGAIN OTHER` (completed with 0, with -EAGAIN, with anything else)
//   --close         with the sleeps in flight, closes a socket opened beforehand, and prints
//                   `close RESULT` before the sleeps' line: the limit never refuses a close
//
// A sleep is a call that waits, so in the exceptionless mode each one counts against the limit on
// calls in flight until its time is up; those past the limit complete at once with -EAGAIN.
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const maxSockets = args.int("sockets", 0);
const sleeps = args.int("sleeps", 0);
const closeOne = args.has("close");
const ts = flexsc.timespec(<i64>args.int("sleep-ms", 200) * 1_000_000);

let opened = 0;
let slept = 0;
let refused = 0;
let other = 0;

function line(s: string): void {
  process.stdout.write(s + "\n");
}

function onSocket(r: flexsc.Request): void {
  if (r.result >= 0) opened++;
  if (r.result >= 0 && opened < maxSockets) {
    flexsc.socket(r, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
    return;
  }
  line("descriptors " + opened.toString() + " " + (r.result < 0 ? r.result.toString() : "0"));
  startSleeps();
}

function onSlept(r: flexsc.Request): void {
  if (r.result == 0) slept++;
  else if (r.result == -flexsc.EAGAIN) refused++;
  else other++;
  if (slept + refused + other < sleeps) return;
  if (closeOne) line("close " + closeResult.toString());
  line("sleeps " + slept.toString() + " " + refused.toString() + " " + other.toString());
}

let closeResult: i64 = 1;

function onClosed(r: flexsc.Request): void {
  // Printed with the sleeps' line: a write to standard output now would meet the limit too.
  closeResult = r.result;
}

function startSleeps(): void {
  // The socket to close is opened first, before the sleeps take their places in flight.
  if (closeOne) flexsc.socket(new flexsc.Request(onCloseSocket), flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
  else submitSleeps(-1);
}

function onCloseSocket(r: flexsc.Request): void {
  if (r.result < 0) line("close socket failed: " + r.result.toString());
  submitSleeps(<i32>r.result);
}

function submitSleeps(fd: i32): void {
  for (let i = 0; i < sleeps; i++) flexsc.clock_nanosleep(new flexsc.Request(onSlept), flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(ts), 0);
  if (fd >= 0) flexsc.close(new flexsc.Request(onClosed), fd);
}

if (maxSockets > 0) flexsc.socket(new flexsc.Request(onSocket), flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
else startSleeps();
flexsc.run();
