// Writes to standard output as fast as it can (64 KiB a write, one write in flight), for the
// back-pressure test (tests/e2e-stdio-backpressure.test.ts): `--bytes N` in all (default 64 MiB),
// then `flood: wrote N` on standard error. With `--nonblock` standard output is made O_NONBLOCK
// first and the guest counts the -EAGAIN answers instead of waiting, stopping at the 1000th
// (`flood: wrote N, EAGAIN M`).
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

const args = process.argv;
let total: i64 = 64 << 20;
let nonblock = false;
for (let i = 1; i < args.length; i++) {
  if (args[i] == "--bytes" && i + 1 < args.length) total = I64.parseInt(args[i + 1]);
  if (args[i] == "--nonblock") nonblock = true;
}
const chunk = new ArrayBuffer(65536);
memory.fill(flexsc.ptr(chunk), 0x2e, 65536);
let wrote: i64 = 0;
let again: i64 = 0;

function next(r: flexsc.Request): void {
  if (r.result > 0) wrote += r.result;
  else if (r.result == -flexsc.EAGAIN) {
    if (++again >= 1000) return done();
  }
  else if (r.result < 0) return done();
  if (wrote >= total) return done();
  flexsc.write(r, 1, flexsc.ptr(chunk), 65536);
}

function done(): void {
  const line = String.UTF8.encode("flood: wrote " + wrote.toString() + (nonblock ? ", EAGAIN " + again.toString() : "") + "\n");
  flexsc.write(null, 2, flexsc.ptr(line), line.byteLength);
}

const first = new flexsc.Request(next);
if (nonblock) flexsc.fcntl(first, 1, 4 /* F_SETFL */, flexsc.O_NONBLOCK);
else next(first);
flexsc.run();
