// A guest that does not stop when asked (tests/e2e-cli-main-thread.test.ts): it prints `ready`, then
// sleeps a second at a time forever; its onShutdown handler does nothing (a synchronous write there
// would be refused: the stop was asked), so the host's grace period has to end it. With `--compute`
// it computes forever after `ready` instead, never sleeping; with `--obey` it registers no handler,
// so its loop ends with 130 when asked.
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const compute = args.has("compute");
const obey = args.has("obey");
const tick = flexsc.timespec(1_000_000_000);

function onTick(r: flexsc.Request): void {
  flexsc.nanosleep(r, flexsc.ptr(tick), 0);
}

flexsc.init();
if (!obey) flexsc.onShutdown(() => {});
process.stdout.write("ready\n");
if (compute) {
  let x: u32 = 1;
  // An xorshift that never ends (the guest never sleeps, never calls the host).
  while (x != 0) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  process.stdout.write("unreachable " + x.toString() + "\n");
}
flexsc.nanosleep(new flexsc.Request(onTick), flexsc.ptr(tick), 0);
flexsc.run();
