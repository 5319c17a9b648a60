import type { Worker, WorkerOptions } from 'node:worker_threads';
import { lazyBuiltin } from './lazy-builtin.js';

const workerThreads = lazyBuiltin<typeof import('node:worker_threads')>('node:worker_threads');

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

// Options Node refuses in a worker's execArgv (ERR_WORKER_INVALID_EXEC_ARGV): V8's flags, such as
// `--expose-gc`, `--jitless` or `--stack-size`, which are process-wide and so already hold in every
// worker. Node has no list of them; the first refusal names them, and they are left out from then on.
const refusedInWorkers = new Set<string>();
const REFUSED = /invalid execArgv flags: (.*)$/;

/**
 * A worker running `url` with the parent's Node options (workerExecArgv), less those Node refuses
 * in a worker, which it learns from the first refusal.
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  for (;;) {
    const execArgv = workerExecArgv().filter((a) => !refusedInWorkers.has(a));
    try {
      return new (workerThreads().Worker)(url, { ...options, execArgv });
    } catch (e) {
      const named = (e as { code?: string }).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? REFUSED.exec((e as Error).message)?.[1] : undefined;
      const fresh = (named ?? '').split(/,\s*|\s+/).filter((a) => execArgv.includes(a));
      if (fresh.length === 0) throw e;
      for (const a of fresh) refusedInWorkers.add(a);
    }
  }
}
