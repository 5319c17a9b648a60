// A guest that dies badly, from inside a completion handler while a call is still in flight (a read
// on an empty pipe): `--how unreachable|oob|stack|abort|assert|index|env-abort|exit|scribble`
// (`--status N` for exit). The host must report it with status 134 and a readable message (a plain
// exit: its status), and every other guest of the VM must keep running (tests/e2e-hostile.test.ts).
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

/** The host's own abort import, which AssemblyScript's WASI shim replaces by a plain exit. */
@external("env", "abort")
declare function envAbort(msg: usize, file: usize, line: u32, col: u32): void;

const args = new Args();
const how = args.str("how", "unreachable");
const status = args.int("status", 0);

let depthReached: i32 = 0;
function recurse(n: i32): i32 {
  depthReached = n;
  // Not a tail call: the frame stays until the stack runs out.
  return recurse(n + 1) + n;
}

/**
 * Overwrites every syscall entry with deterministic garbage (real call numbers, junk arguments,
 * SUBMITTED or CANCEL) and publishes it as if it were a batch of real submissions, then scribbles
 * over the submission masks and rings every doorbell.
 */
function scribble(): void {
  const ctrl = flexsc.controlBlock();
  let seed: u32 = 12345;
  const threads = load<i32>(ctrl + flexsc.C_THREAD_COUNT);
  const pages = load<i32>(ctrl + flexsc.C_PAGE_COUNT);
  const pagesPtr = <usize>load<u32>(ctrl + flexsc.C_PAGES_PTR);
  for (let t = 0; t < threads; t++) {
    const line = ctrl + flexsc.THREAD_LINES + <usize>t * 64;
    let seq = load<i32>(line);
    for (let p = t; p < pages; p += threads) {
      for (let e = 0; e < 64; e++) {
        const entry = pagesPtr + (<usize>(p * 64 + e)) * 64;
        for (let w: usize = 0; w < 16; w++) {
          seed = seed * 1103515245 + 12345;
          store<u32>(entry + w * 4, seed);
        }
        store<u32>(entry + flexsc.E_SYSNO, (seed >> 8) % 330);
        store<i32>(entry + flexsc.E_SEQ, seq++);
        store<u32>(entry + flexsc.E_HOST, 0);
        atomic.store<u32>(entry, (seed & 7) == 0 ? flexsc.ST_CANCEL : flexsc.ST_SUBMITTED);
      }
    }
    memory.fill(ctrl + flexsc.subMaskOffset(pages), 0xff, <usize>pages * 8);
    atomic.store<i32>(line, seq);
    atomic.store<i32>(line + 4, load<i32>(line + 4) + 3);
    atomic.add<i32>(line + 8, 1);
    atomic.notify(line + 8, -1);
  }
  // And a thread line that jumps far ahead.
  atomic.store<i32>(ctrl + flexsc.THREAD_LINES, 0x7654_3210);
}

function die(): void {
  process.stdout.write("dying: " + how + "\n");
  if (how == "unreachable") unreachable();
  if (how == "oob") process.stdout.write(load<u32>(0xffff_fff0).toString());
  if (how == "stack") process.stdout.write(recurse(0).toString());
  if (how == "abort") abort("deliberate abort", "crash.ts", 7, 9);
  if (how == "assert") assert(how.length == 0, "deliberate assertion");
  if (how == "index") {
    const a = new Array<i32>(2);
    process.stdout.write(a[depthReached + 5].toString());
  }
  if (how == "env-abort") envAbort(0, 0, 1, 2);
  if (how == "exit") process.exit(status);
  if (how == "scribble") {
    scribble();
    // Give the syscall threads time to chew on it, then leave normally.
    let spin: i32 = 0;
    const word = heap.alloc(16);
    store<i32>(word, 0);
    if (flexsc.mode() != flexsc.MODE_EPOLL) for (spin = 0; spin < 20; spin++) memory.atomic.wait32(word, 0, 2_000_000);
    process.exit(0);
  }
  process.stdout.write("survived " + how + "\n");
  process.exit(99);
}

const fds = new ArrayBuffer(8);
const buf = new ArrayBuffer(16);
const oneMs = flexsc.timespec(1_000_000);

function onSlept(r: flexsc.Request): void {
  die();
}
function onRead(r: flexsc.Request): void {
  process.stdout.write("the pending read completed: " + r.result.toString() + "\n");
}

flexsc.init();
if (flexsc.syscallSync(flexsc.SYS_pipe2, <i32>flexsc.ptr(fds), 0) != 0) process.exit(98);
flexsc.read(new flexsc.Request(onRead), load<i32>(flexsc.ptr(fds)), flexsc.ptr(buf), 16);
flexsc.nanosleep(new flexsc.Request(onSlept), flexsc.ptr(oneMs), 0);
flexsc.run();
