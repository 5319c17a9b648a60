// End-to-end test of libflexsc's contract (DESIGN "Contracts worth copying", paper sections 4 and 7):
// a handler runs exactly once per accepted submission and never from inside a submit call; a refused
// submission returns its error at once and never calls back; fire-and-forget submissions complete;
// cancellation of a pending pipe read and of a timeout (-ECANCELED exactly once), cancelling after
// completion (-EALREADY, the real result delivered); throttling when every entry is busy (a burst of
// thousands of calls, and a wall of pending reads that the writes unblocking them must pass);
// syscallSync; onExit. Options: --pages N (syscall pages, default 1 = 64 entries), --burst N,
// --pipes N. Prints one `ok`/`not ok` line per check (tests/e2e-library.test.ts).
import * as flexsc from "../../guest/flexsc";
import { S, step, next, submitted, nestedHandlers, enterHandler, remaining } from "./lib/seq";
import { check, expect, expectErr, pass, fail, summary } from "./lib/report";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const pages = args.int("pages", 1);
const burst = args.int("burst", 3000);
const pipeCount = args.int("pipes", 100);

// No pages added at run time (the limit is the first pages): the throttling below is what this checks.
expect("init", flexsc.init(pages, pages), 0);
expectErr("init-twice", flexsc.init(pages, pages), flexsc.EALREADY);
const pid = flexsc.processId();

/** A request that counts its handler runs; every one made is checked at exit. */
class Counted extends flexsc.Request {
  runs: i32 = 0;
  /** The handler ran while the submit call that accepted it had not returned yet. */
  early: bool = false;
  tag: i32 = 0;
  constructor() {
    super(onCounted);
  }
}
const all = new Array<Counted>();
const firstBatch = new Array<Counted>();
let joinLeft = 0;

function counted(): Counted {
  const c = new Counted();
  all.push(c);
  return c;
}

function onCounted(r: flexsc.Request): void {
  enterHandler();
  changetype<Counted>(r).runs++;
  if (--joinLeft == 0) next(0);
}

/** Accepted submissions must be in flight when the submit call returns (no handler ran yet). */
function accepted(c: Counted, rc: i32, what: string): void {
  if (rc != 0) {
    fail(what, "refused with " + rc.toString());
    joinLeft--;
    return;
  }
  if (c.runs != 0 || !c.busy) c.early = true;
}

const pipeFds = new ArrayBuffer(8);
const rbuf = new ArrayBuffer(256);
const abc = String.UTF8.encode("abc");
const x = String.UTF8.encode("x");
const zz = String.UTF8.encode("zz");
const st2 = flexsc.statBuffer();
const tenSeconds = flexsc.timespec(10_000_000_000);
const ts0 = new ArrayBuffer(16);
const ts1 = new ArrayBuffer(16);
let p0r: i32 = -1;
let p0w: i32 = -1;
let p1r: i32 = -1;
let p1w: i32 = -1;
let got: i32 = 0;

// ---- 1. handlers run once, from the loop, never inside the submit call
step((_r: i64): void => {
  joinLeft = 50;
  for (let i = 0; i < 50; i++) {
    const c = counted();
    firstBatch.push(c);
    accepted(c, flexsc.getpid(c), "getpid");
  }
});
step((_r: i64): void => {
  let ok = true;
  for (let i = 0; i < firstBatch.length; i++) if (firstBatch[i].runs != 1 || firstBatch[i].result != <i64>pid) ok = false;
  check("handlers-once-with-result", ok);
  submitted(flexsc.pipe2(S, flexsc.ptr(pipeFds), 0), "pipe2");
});
// The writes may run on another syscall thread than the read: read until all ten bytes came.
function onCollect(r: flexsc.Request): void {
  enterHandler();
  if (r.result > 0) got += <i32>r.result;
  if (r.result > 0 && got < 10) {
    submitted(flexsc.read(r, p0r, flexsc.ptr(rbuf), 64), "read");
    return;
  }
  next(r.result);
}
const collector = new flexsc.Request(onCollect);
// ---- 2. a refused submission (request still in flight) returns -EBUSY at once and never calls back
const reader = counted();
const writer = counted();
step((r: i64): void => {
  expect("pipe2", r, 0);
  p0r = load<i32>(flexsc.ptr(pipeFds));
  p0w = load<i32>(flexsc.ptr(pipeFds) + 4);
  joinLeft = 2;
  accepted(reader, flexsc.read(reader, p0r, flexsc.ptr(rbuf), 64), "read-pending");
  expectErr("refused-ebusy-getpid", flexsc.getpid(reader), flexsc.EBUSY);
  expectErr("refused-ebusy-read", flexsc.read(reader, p0r, flexsc.ptr(rbuf), 64), flexsc.EBUSY);
  check("refused-no-callback-yet", reader.runs == 0 && reader.busy, "runs " + reader.runs.toString());
  accepted(writer, flexsc.write(writer, p0w, flexsc.ptr(abc), 3), "write");
});
step((_r: i64): void => {
  expect("refused-original-result", reader.result, 3);
  expect("refused-handler-runs", reader.runs, 1);
  expect("write-result", writer.result, 3);
  // ---- 3. fire and forget: null requests complete (the data arrives)
  let ok = true;
  for (let i = 0; i < 10; i++) if (flexsc.write(null, p0w, flexsc.ptr(x), 1) != 0) ok = false;
  check("null-request-accepted", ok);
  got = 0;
  submitted(flexsc.read(collector, p0r, flexsc.ptr(rbuf), 64), "read");
});
step((_r: i64): void => {
  expect("null-request-completes", got, 10);
  submitted(flexsc.pipe2(S, flexsc.ptr(pipeFds), 0), "pipe2");
});
// ---- 4. cancelling a pending read on a pipe: -ECANCELED once, and no data is lost
const cancelled = counted();
step((r: i64): void => {
  expect("pipe2-second", r, 0);
  p1r = load<i32>(flexsc.ptr(pipeFds));
  p1w = load<i32>(flexsc.ptr(pipeFds) + 4);
  joinLeft = 1;
  accepted(cancelled, flexsc.read(cancelled, p1r, flexsc.ptr(rbuf), 64), "read-to-cancel");
  expect("cancel-read", flexsc.cancel(cancelled), 0);
  expectErr("cancel-read-twice", flexsc.cancel(cancelled), flexsc.EALREADY);
});
step((_r: i64): void => {
  expectErr("cancel-read-ecanceled", cancelled.result, flexsc.ECANCELED);
  expect("cancel-read-runs", cancelled.runs, 1);
  expectErr("cancel-idle-einval", flexsc.cancel(cancelled), flexsc.EINVAL);
  submitted(flexsc.write(S, p1w, flexsc.ptr(zz), 2), "write");
});
step((r: i64): void => {
  expect("write-after-cancel", r, 2);
  submitted(flexsc.read(S, p1r, flexsc.ptr(rbuf), 64), "read");
});
step((r: i64): void => {
  check("cancel-read-no-data-lost", r == 2 && String.UTF8.decodeUnsafe(flexsc.ptr(rbuf), 2) == "zz", "read " + r.toString());
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts0)), "clock_gettime");
});
// ---- 5. cancelling a timeout
const timeout = counted();
step((_r: i64): void => {
  joinLeft = 1;
  accepted(timeout, flexsc.clock_nanosleep(timeout, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(tenSeconds), 0), "timeout");
  expect("cancel-timeout", flexsc.cancel(timeout), 0);
});
step((_r: i64): void => {
  expectErr("cancel-timeout-ecanceled", timeout.result, flexsc.ECANCELED);
  expect("cancel-timeout-runs", timeout.runs, 1);
  submitted(flexsc.clock_gettime(S, flexsc.CLOCK_MONOTONIC, flexsc.ptr(ts1)), "clock_gettime");
});
// ---- 6. cancelling after completion: -EALREADY, and the handler gets the real result
const second = counted();
let cancelAfter: i32 = 1;
step((r: i64): void => {
  const waited = flexsc.timespecNs(flexsc.ptr(ts1)) - flexsc.timespecNs(flexsc.ptr(ts0));
  check("cancel-timeout-early", r == 0 && waited < 10_000_000_000, "waited " + waited.toString() + " ns");
  joinLeft = 1;
  // fstat(0) goes to syscall thread 0, which runs a thread's calls in submission order; the
  // syscallSync call after it (also thread 0) returns when both completed. The handler has not run.
  accepted(second, flexsc.fstat(second, 0, flexsc.ptr(st2)), "fstat");
  expect("syscall-sync-after-post", flexsc.syscallSync(flexsc.SYS_getpid), pid);
  cancelAfter = flexsc.cancel(second);
});
step((_r: i64): void => {
  expectErr("cancel-after-completion", cancelAfter, flexsc.EALREADY);
  expect("cancel-after-completion-result", second.result, 0);
  expect("cancel-after-completion-runs", second.runs, 1);
  next(0);
});
// ---- 7. throttling: a burst far beyond the entries there are
step((_r: i64): void => {
  joinLeft = burst;
  for (let i = 0; i < burst; i++) {
    const c = counted();
    accepted(c, flexsc.getpid(c), "burst");
  }
  // ... and fire-and-forget calls among them.
  let ok = true;
  for (let i = 0; i < burst / 2; i++) if (flexsc.getpid(null) != 0) ok = false;
  check("burst-null-accepted", ok);
});
step((_r: i64): void => {
  let ok = true;
  for (let i = 0; i < all.length; i++) if (all[i].runs != 1 || all[i].busy) ok = false;
  check("burst-completes", ok);
  next(0);
});
// ---- 8. a wall of pending reads (more than every entry) and the writes that unblock them
const pipesR = new Array<i32>();
const pipesW = new Array<i32>();
const reads = new Array<Counted>();
const bytes = new Array<ArrayBuffer>();
const payload = new Array<ArrayBuffer>();
step((_r: i64): void => {
  // syscallSync makes the pipes: an import call, in every mode.
  let ok = true;
  for (let i = 0; i < pipeCount; i++) {
    const rc = flexsc.syscallSync(flexsc.SYS_pipe2, <i32>flexsc.ptr(pipeFds), 0);
    if (rc != 0) ok = false;
    pipesR.push(load<i32>(flexsc.ptr(pipeFds)));
    pipesW.push(load<i32>(flexsc.ptr(pipeFds) + 4));
    bytes.push(new ArrayBuffer(16));
    payload.push(String.UTF8.encode("pipe " + i.toString()));
  }
  check("syscall-sync-pipes", ok);
  joinLeft = pipeCount * 2;
  for (let i = 0; i < pipeCount; i++) {
    const c = counted();
    c.tag = i;
    reads.push(c);
    accepted(c, flexsc.read(c, pipesR[i], flexsc.ptr(bytes[i]), 16), "wall-read");
  }
  for (let i = 0; i < pipeCount; i++) {
    const c = counted();
    accepted(c, flexsc.write(c, pipesW[i], flexsc.ptr(payload[i]), payload[i].byteLength), "wall-write");
  }
});
step((_r: i64): void => {
  let ok = true;
  let detail = "";
  for (let i = 0; i < pipeCount; i++) {
    const c = reads[i];
    const n = payload[i].byteLength;
    if (c.result != <i64>n || memory.compare(flexsc.ptr(bytes[i]), flexsc.ptr(payload[i]), n) != 0) {
      ok = false;
      detail = "pipe " + i.toString() + " read " + c.result.toString();
    }
  }
  check("wall-of-reads-progress", ok, detail);
  for (let i = 0; i < pipeCount; i++) {
    flexsc.close(null, pipesR[i]);
    flexsc.close(null, pipesW[i]);
  }
  // ---- 9. syscallSync in this mode
  expect("syscall-sync-getpid", flexsc.syscallSync(flexsc.SYS_getpid), pid);
  expectErr("syscall-sync-ebadf", flexsc.syscallSync(flexsc.SYS_close, 9999), flexsc.EBADF);
  expect("syscall-sync-close", flexsc.syscallSync(flexsc.SYS_close, p1w), 0);
  flexsc.close(null, p0r);
  flexsc.close(null, p0w);
  flexsc.close(null, p1r);
  pass("sequence-complete");
  next(0);
});

// ---- 10. onExit: the loop's status goes through the hook, which makes the exit status
function onExit(status: i32): i32 {
  expect("onexit-status", status, 0);
  expect("steps-left", remaining(), 0);
  expect("nested-handlers", nestedHandlers, 0);
  let once = true;
  let early = 0;
  for (let i = 0; i < all.length; i++) {
    if (all[i].runs != 1) once = false;
    if (all[i].early) early++;
  }
  check("every-handler-exactly-once", once);
  expect("no-handler-inside-submit", early, 0);
  expect("pending-at-exit", flexsc.pending(), 0);
  return summary(status);
}

flexsc.onExit(onExit);
next(0);
flexsc.run();
