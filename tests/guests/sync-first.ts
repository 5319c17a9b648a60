// A guest whose first call is synchronous, without init(): libflexsc registers on first use (as a
// submission does), so syscallSync works; a later init() says -EALREADY.
import * as flexsc from "../../guest/flexsc";
import { check, expect, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

const pid = flexsc.syscallSync(flexsc.SYS_getpid);
check("sync-getpid-without-init", pid > 0, pid.toString());
const msg = String.UTF8.encode("sync write\n");
expect("sync-write-without-init", flexsc.syscallSync(flexsc.SYS_write, 1, <i32>flexsc.ptr(msg), msg.byteLength), msg.byteLength);
expect("init-after-first-use-ealready", flexsc.init(8), -flexsc.EALREADY);

function onPid(r: flexsc.Request): void {
  expect("async-after-sync", r.result, pid);
}
flexsc.getpid(new flexsc.Request(onPid));
flexsc.onExit((status: i32): i32 => summary(status));
flexsc.run();
