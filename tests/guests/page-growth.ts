// Syscall pages added at run time (ABI 1.3, flexvm.add_pages), as a guest meets them.
//
//   --pages P --limit L   starts with P pages, at most L in all (the host's --max-pages may cap it)
//   --reads N             opens N pipes and posts a read on each (N calls waiting at once: more than
//                         P pages hold), then writes a byte to each pipe; prints, once every read
//                         has its byte, `reads DONE pages REGISTERED limit LIMIT error ERRNO`
//                         (ERRNO: what the host answered when it refused more pages, 0 if never)
//   --hostile             first asks the host to register pages it must refuse, and prints
//                         `hostile R1 R2 ...`: the control block, a page already registered, a
//                         misaligned address, low memory, past the end of memory, straddling the
//                         end, a zero and a negative count (each -errno); then a good page (the new
//                         count), the same page again (overlapping), and two more (past the limit,
//                         with --limit 3). Run it with --reads 0: libflexsc does not know of them.
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

@external("flexvm", "add_pages")
declare function add_pages(ptr: usize, count: i32): i32;

const args = new Args();
const pages = args.int("pages", 1, 1, 4096);
const limit = args.int("limit", 8, 1, 4096);
const reads = args.int("reads", 0, 0, 30000);

function line(s: string): void {
  process.stdout.write(s + "\n");
}

const r = flexsc.init(pages, limit);
if (r < 0) {
  line("init " + r.toString());
  process.exit(1);
}

if (args.has("hostile")) {
  const ctrl = flexsc.controlBlock();
  const first = <usize>load<u32>(ctrl + flexsc.C_PAGES_PTR);
  const page = <usize>flexsc.PAGE_SIZE;
  const block = heap.alloc(4 * page);
  const aligned = (block + page - 1) & ~(page - 1);
  const end = <usize>memory.size() << 16;
  const results: i32[] = [
    add_pages(ctrl, 1),
    add_pages(first, 1),
    add_pages(aligned + 8, 1),
    add_pages(0, 1),
    add_pages(0xfffff000, 1),
    add_pages(end - page, 2),
    add_pages(aligned, 0),
    add_pages(aligned, -1),
    add_pages(aligned, 1),
    add_pages(aligned + 64, 1),
    add_pages(aligned + page, 2),
  ];
  line("hostile " + results.join(" "));
}

const fds = new ArrayBuffer(8);
const readFd = new StaticArray<i32>(reads);
const writeFd = new StaticArray<i32>(reads);
const buf = new ArrayBuffer(reads > 0 ? reads : 1);
const one = new ArrayBuffer(1);
store<u8>(flexsc.ptr(one), 120);
let got = 0;

function onRead(q: flexsc.Request): void {
  if (q.result == 1) got++;
  else line("read " + q.result.toString());
  if (got == reads) {
    line("reads " + got.toString() + " pages " + flexsc.pagesRegistered().toString() + " limit " +
      flexsc.pagesLimit().toString() + " error " + flexsc.pagesError().toString());
    for (let i = 0; i < reads; i++) {
      flexsc.close(null, unchecked(readFd[i]));
      flexsc.close(null, unchecked(writeFd[i]));
    }
  }
}


for (let i = 0; i < reads; i++) {
  const rc = flexsc.syscallSync(flexsc.SYS_pipe2, <i32>flexsc.ptr(fds), flexsc.O_CLOEXEC);
  if (rc < 0) {
    line("pipe2 " + rc.toString());
    process.exit(1);
  }
  unchecked((readFd[i] = load<i32>(flexsc.ptr(fds))));
  unchecked((writeFd[i] = load<i32>(flexsc.ptr(fds) + 4)));
}
// Every read first (the pipes are empty: they all wait), then a byte for each. A timer in between
// would wait behind the reads for an entry where the pages are capped: writes take the entries kept
// for calls that finish.
for (let i = 0; i < reads; i++) flexsc.read(new flexsc.Request(onRead), unchecked(readFd[i]), flexsc.ptr(buf) + <usize>i, 1);
for (let i = 0; i < reads; i++) flexsc.write(null, unchecked(writeFd[i]), flexsc.ptr(one), 1);
flexsc.run();
