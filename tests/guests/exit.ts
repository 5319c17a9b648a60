// Exit statuses and arguments: prints `args: A B C` (argv[1..]) and `env: NAME=VALUE` for --env-name,
// then ends as asked: `--status N` returns N from the onExit hook after the loop finished; `--exit N`
// calls proc_exit(N) from a completion handler while a read is still in flight
// (tests/e2e-cli.test.ts, tests/e2e-hostile.test.ts).
import * as flexsc from "../../guest/flexsc";
import { Args } from "../../examples/lib/args";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const status = args.int("status", 0);
const exitNow = args.int("exit", -1);

process.stdout.write("args: " + process.argv.slice(1).join(" ") + "\n");
const envName = args.str("env-name", "");
if (envName.length > 0) process.stdout.write("env: " + envName + "=" + (process.env.has(envName) ? process.env.get(envName) : "<unset>") + "\n");

const fds = new ArrayBuffer(8);
const buf = new ArrayBuffer(16);

function onPid(r: flexsc.Request): void {
  process.stdout.write("pid: " + r.result.toString() + "\n");
  if (exitNow >= 0) {
    // A read is still pending on the pipe: proc_exit must end the guest anyway.
    flexsc.read(new flexsc.Request(onRead), load<i32>(flexsc.ptr(fds)), flexsc.ptr(buf), 16);
    process.exit(exitNow);
  }
}
function onRead(r: flexsc.Request): void {
  process.stdout.write("unexpected: the read completed\n");
}
function onExit(loopStatus: i32): i32 {
  process.stdout.write("loop status: " + loopStatus.toString() + "\n");
  return loopStatus != 0 ? loopStatus : status;
}

flexsc.init();
flexsc.syscallSync(flexsc.SYS_pipe2, <i32>flexsc.ptr(fds), 0);
flexsc.getpid(new flexsc.Request(onPid));
flexsc.onExit(onExit);
flexsc.run();
