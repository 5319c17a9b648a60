// Smallest useful guest: a getpid and a write through the exception-less path, then exits.
import * as flexsc from "../../guest/flexsc";
export { flexsc_resume } from "../../guest/flexsc";

const msg = String.UTF8.encode("hello from the guest\n");

function onWrite(r: flexsc.Request): void {
  if (r.result != <i64>msg.byteLength) process.exit(2);
}
function onPid(r: flexsc.Request): void {
  if (r.result <= 0) process.exit(3);
  flexsc.write(new flexsc.Request(onWrite), 1, flexsc.ptr(msg), msg.byteLength);
}

flexsc.getpid(new flexsc.Request(onPid));
flexsc.run();
