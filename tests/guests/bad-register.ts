// A guest that talks to the host without the guest library: it calls the `register` import itself
// with garbage (a null pointer, a misaligned one, a block of zeros, a foreign block, a wrong ABI
// version, impossible sizes, a block past the end of memory). Every one must be refused with -errno
// and a message (never a crash). Then, with `--then-valid`, it registers properly through the guest
// library and makes a call. It exits with status 3 (tests/e2e-hostile.test.ts).
//
// Each result is printed as `register CASE = RESULT`.
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

@external("flexvm", "register")
declare function register(ctrl: usize): i32;

const MAGIC: u32 = 0x56584c46;
const VERSION: u32 = 0x00010000;

function show(what: string, r: i32): void {
  process.stdout.write("register " + what + " = " + r.toString() + "\n");
}

// A 64-aligned block of 16 KiB to fill with bad control blocks.
const raw = heap.alloc(16384 + 64);
const block = (raw + 63) & ~(<usize>63);

function reset(): void {
  memory.fill(block, 0, 16384);
}

show("null", register(0));
show("misaligned", register(block + 4));
reset();
show("zeros", register(block));
reset();
store<u32>(block, 0x464c457f); // an ELF header, not ours
show("foreign", register(block));
reset();
store<u32>(block, MAGIC);
store<u32>(block + 4, 0x00020000);
show("version", register(block));
store<u32>(block + 4, VERSION);
store<u32>(block + 20, 64); // entry size
store<u32>(block + 12, 0); // no pages
show("pages", register(block));
store<u32>(block + 12, 1);
store<u32>(block + 8, 1); // wrong control block size
show("size", register(block));
store<u32>(block + 8, 9216 + 128);
store<u32>(block + 16, 0xffff0000); // pages past the end of memory
show("pages-ptr", register(block));
store<u32>(block + 16, <u32>block); // pages overlapping the control block
show("overlap", register(block));
show("end-of-memory", register(<usize>(memory.size() << 16) - 64));
if (new Args().has("then-valid")) {
  show("valid", flexsc.init());
  process.stdout.write("getpid = " + flexsc.syscallSync(flexsc.SYS_getpid).toString() + "\n");
}
process.exit(3);
