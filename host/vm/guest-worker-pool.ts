import { Worker } from 'node:worker_threads';
import { GUEST_WORKER_URL, workerExecArgv } from '../worker-entry-points.js';
import type { SpareWorkerData, SpawnInfo, ToGuestWorker } from './messages.js';

/**
 * Guest workers started ahead of their guest. Node takes tens of milliseconds to start a worker
 * (its own bootstrap, then our worker bundle), and a guest that runs at once would wait for all of
 * it after everything else. A spare started while the VM starts (its syscall threads, its kernel)
 * or while the CLI loads its bundle does that work on another core meanwhile, and the next spawn
 * takes it (bench/suites/startup.ts measures the difference).
 *
 * At most one spare in the process, started on request only (VM.create, the CLI's entry), unref'd
 * while idle (it keeps no process alive) and ended by vm.close if nobody took it: a process that runs
 * guests one after another starts no more workers than before.
 */
let spare: { readonly worker: Worker; dead: boolean } | null = null;

/**
 * Starts a spare guest worker unless one is waiting. `runner`: the guest runner (Executor.guestRunner)
 * it should load while it waits (the native kernel's), or null.
 */
export function prestartGuestWorker(runner: string | null): void {
  if (spare !== null && !spare.dead) return;
  const data: SpareWorkerData = { spare: true, runner };
  const worker = new Worker(GUEST_WORKER_URL, { workerData: data, name: 'flexvm-guest', execArgv: workerExecArgv() });
  const entry = { worker, dead: false };
  const gone = (): void => {
    entry.dead = true;
    if (spare === entry) spare = null;
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  worker.unref();
  spare = entry;
}

/** A worker running `info`'s guest: the spare if one waits, else a new one. */
export function guestWorker(info: SpawnInfo): Worker {
  const s = spare;
  if (s !== null && !s.dead) {
    spare = null;
    s.worker.removeAllListeners('error');
    s.worker.removeAllListeners('exit');
    s.worker.ref();
    s.worker.postMessage({ type: 'start', info } satisfies ToGuestWorker);
    return s.worker;
  }
  return new Worker(GUEST_WORKER_URL, { workerData: info, name: `flexvm-guest-${info.pid}`, execArgv: workerExecArgv() });
}

/** Ends the spare if nobody took it (vm.close: the VM's threads end with it). */
export function endSpareGuestWorker(): void {
  const s = spare;
  spare = null;
  if (s !== null && !s.dead) void s.worker.terminate();
}
