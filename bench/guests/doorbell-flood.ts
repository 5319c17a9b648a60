// A hostile guest for the doorbell-flood benchmark: rings the doorbell of every syscall thread that
// serves it in a tight loop, whether or not the thread sleeps (libflexsc rings only when a thread
// said it sleeps: needs_wakeup), and notifies each time, as the ABI's wake does. It posts nothing.
// Says `ready` (guest.ready) once it floods; when the host asks it to stop it prints
// `rings N` (rounds over all threads) and ends.
import * as flexsc from "../../guest/flexsc";
import { host_wake } from "../../guest/flexsc/host";
export { flexsc_resume } from "../../guest/flexsc";

flexsc.init(1);
const ctrl = flexsc.controlBlock();
const threads = flexsc.threadCount();
const hostWaits = load<i32>(ctrl + flexsc.C_WAITS) == flexsc.WAITS_HOST;
let rings: i64 = 0;
flexsc.ready("flooding");
while (atomic.load<i32>(ctrl + flexsc.C_SHUTDOWN) == 0) {
  for (let t = 0; t < threads; t++) {
    const bell = ctrl + flexsc.THREAD_LINES + <usize>t * 64 + flexsc.T_DOORBELL;
    atomic.add<i32>(bell, 1);
    if (hostWaits) host_wake(bell);
    else atomic.notify(bell, -1);
  }
  rings++;
}
process.stdout.write("rings " + rings.toString() + "\n");
