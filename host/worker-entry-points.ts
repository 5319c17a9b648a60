// The worker entry points. This file sits at the top of the host's tree, so the same relative URLs
// hold after tsc (build/host/) and after rollup (dist/, whose entry names keep these folders).
export const SYSCALL_WORKER_URL = new URL('./syscall/syscall-worker.js', import.meta.url);
export const GUEST_WORKER_URL = new URL('./guest/guest-worker.js', import.meta.url);

// Options of the parent's command line that describe its entry script, not the process: a worker
// inherits process.execArgv, and Node refuses to start one whose inherited options include
// `--input-type` (ERR_INPUT_TYPE_NOT_ALLOWED), as an embedder run with `node --input-type=module -e`
// has. Those (with their values) are left out; every other option still reaches the workers.
const ENTRY_OPTIONS_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const ENTRY_FLAGS = new Set(['-i', '--interactive', '-c', '--check']);

/** The parent's Node options a worker should inherit (process.execArgv without its entry options). */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=', 1)[0]!;
    if (ENTRY_OPTIONS_WITH_VALUE.has(name)) {
      if (!arg.includes('=')) i++; // its value is the next argument
      continue;
    }
    if (ENTRY_FLAGS.has(arg)) continue;
    kept.push(arg);
  }
  return kept;
}
