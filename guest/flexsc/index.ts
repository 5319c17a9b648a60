// libflexsc for AssemblyScript: exception-less system calls with completion handlers (the paper's
// Figure 4 API). Import it as a namespace: `import * as flexsc from "<path>/guest/flexsc";`
//
// A guest program submits calls with a Request whose handler runs when the call completes, then
// hands control to the loop with `flexsc.run()`. The same source runs in the three modes the host
// picks (exceptionless, sync, epoll). Every program must also re-export the resume entry point from
// its entry file, for the epoll mode:  export { flexsc_resume } from "<path>/guest/flexsc";

export * from "./abi";
export * from "./calls";
export * from "./structs";
export { Request } from "./request";
export { SecondTicker } from "./ticker";
export { init, onShutdown, submit, cancel, mainLoop, runOnce, pending, LOOP_SUSPENDED, EXIT_INTERRUPTED } from "./core";
export {
  execSync, threadCount, mode, processId, controlBlock, waitRoom, waitCapacity, pagesRegistered, pagesLimit, pagesError,
  DEFAULT_PAGES, DEFAULT_PAGE_LIMIT,
} from "./pages";

import { mainLoop, ensureInit, LOOP_SUSPENDED } from "./core";
import { ENOSYS } from "./abi";
import { execSync } from "./pages";
import { host_ready } from "./host";

let exitHook: ((status: i32) => i32) | null = null;

/**
 * Sets a function the loop calls when it has nothing left to do: it receives the loop's status
 * (0, or 130 when the host stopped the guest) and returns the program's exit status. Code after
 * `run()` does not run in every mode; put the end of the program here.
 */
export function onExit(fn: (status: i32) => i32): void {
  exitHook = fn;
}

/**
 * Runs the loop until nothing is left to do, then exits the program with the loop's status (like
 * the paper's `return flexsc_main_loop();`), passed through the onExit hook if one is set. Call it
 * last: in epoll mode it may return to the host early, and the host resumes the loop later through
 * `flexsc_resume`.
 */
export function run(): void {
  let code = mainLoop();
  if (code == LOOP_SUSPENDED) return;
  const hook = exitHook;
  if (hook) code = hook(code);
  process.exit(code);
}

/** epoll mode: the host calls this (re-exported by the program) to continue a suspended loop. */
export function flexsc_resume(): void {
  run();
}

/**
 * A call made synchronously through the `syscall` import (a mode switch), e.g. during set-up.
 * Like a submission, the first one registers the library with the default pages if init() has not
 * run; -ENOSYS if the host refused the registration.
 */
export function syscallSync(nr: i32, a0: i32 = 0, a1: i32 = 0, a2: i32 = 0, a3: i32 = 0, a4: i32 = 0, a5: i32 = 0): i64 {
  if (ensureInit() != 0) return -ENOSYS;
  return execSync(nr, a0, a1, a2, a3, a4, a5, 0);
}

/**
 * Tells the embedder that this guest is ready, with a short text it defines (a server passes the
 * address it listens on, "127.0.0.1:8080"): the embedder's `guest.ready` resolves with it, so nobody
 * has to parse standard error. Only the first call counts.
 */
export function ready(detail: string): void {
  const bytes = String.UTF8.encode(detail);
  host_ready(changetype<usize>(bytes), bytes.byteLength);
}
