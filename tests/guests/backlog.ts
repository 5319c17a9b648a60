// A listener that does not accept until told to: it listens with --backlog N, reports its port,
// connects to the test's control server (--control PORT) and waits for a byte there. Meanwhile
// clients queue up (and those beyond the backlog are reset, tests/e2e-os-echo.test.ts). Then it
// accepts --accept M connections one after the other, writes "accepted K\n" on each and closes it,
// and exits. Prints `ok`/`not ok` lines.
import * as flexsc from "../../guest/flexsc";
import { Args, logLine } from "../../examples/lib/args";
import { check, expect, summary } from "./lib/report";
export { flexsc_resume } from "../../guest/flexsc";

const args = new Args();
const backlog = args.int("backlog", 4);
const controlPort = args.int("control", 0);
const toAccept = args.int("accept", 5);

const one = new ArrayBuffer(4);
store<i32>(flexsc.ptr(one), 1);
const any = flexsc.sockaddrIn(0);
const controlAddr = flexsc.sockaddrIn(controlPort);
const buf = new ArrayBuffer(64);
let listenFd: i32 = -1;
let controlFd: i32 = -1;
let accepted = 0;

class Step extends flexsc.Request {}
class Conn extends flexsc.Request {
  fd: i32 = -1;
  msg: ArrayBuffer = new ArrayBuffer(0);
}

flexsc.init();
listenFd = <i32>flexsc.syscallSync(flexsc.SYS_socket, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);
expect("bind", flexsc.syscallSync(flexsc.SYS_bind, listenFd, <i32>flexsc.ptr(any), flexsc.SOCKADDR_IN_SIZE), 0);
expect("listen", flexsc.syscallSync(flexsc.SYS_listen, listenFd, backlog), 0);
const bound = new ArrayBuffer(flexsc.SOCKADDR_IN_SIZE);
const boundLen = new ArrayBuffer(4);
store<u32>(flexsc.ptr(boundLen), flexsc.SOCKADDR_IN_SIZE);
flexsc.syscallSync(flexsc.SYS_getsockname, listenFd, <i32>flexsc.ptr(bound), <i32>flexsc.ptr(boundLen));
logLine("backlog: listening on 127.0.0.1:" + flexsc.sockaddrPort(flexsc.ptr(bound)).toString());

const control = new Step(onControlSocket);
flexsc.socket(control, flexsc.AF_INET, flexsc.SOCK_STREAM, 0);

function onControlSocket(r: flexsc.Request): void {
  controlFd = <i32>r.result;
  r.handler = onControlConnected;
  flexsc.connect(r, controlFd, flexsc.ptr(controlAddr), flexsc.SOCKADDR_IN_SIZE);
}

function onControlConnected(r: flexsc.Request): void {
  expect("control-connect", r.result, 0);
  r.handler = onGo;
  flexsc.read(r, controlFd, flexsc.ptr(buf), 64);
}

function onGo(r: flexsc.Request): void {
  check("go", r.result > 0, "read " + r.result.toString());
  flexsc.close(null, controlFd);
  acceptNext();
}

function acceptNext(): void {
  if (accepted == toAccept) {
    flexsc.close(null, listenFd);
    return;
  }
  flexsc.accept4(new Conn(onAccepted), listenFd, 0, 0, 0);
}

function onAccepted(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  if (r.result < 0) {
    check("accept", false, r.result.toString());
    return;
  }
  c.fd = <i32>r.result;
  accepted++;
  c.msg = String.UTF8.encode("accepted " + accepted.toString() + "\n");
  c.handler = onWritten;
  flexsc.write(c, c.fd, flexsc.ptr(c.msg), c.msg.byteLength);
  acceptNext();
}

function onWritten(r: flexsc.Request): void {
  const c = changetype<Conn>(r);
  expect("write", r.result, c.msg.byteLength);
  flexsc.close(null, c.fd);
}

flexsc.onExit((status: i32): i32 => {
  expect("accepted", accepted, toAccept);
  return summary(status);
});
flexsc.run();
