import type { Worker } from 'node:worker_threads';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { MAIN_THREAD_HELPER_URL, startWorker } from '../worker-entry-points.js';
import { W_ENDED, WORDS, type HelperData, type ToHelper } from './helper-words.js';

/** How long a forced end waits for the main thread to come back before the process is killed. */
const LAST_RESORT_MS = 1000;

/**
 * The helper thread of a guest on the main thread (main-thread-signals.ts): a small worker whose
 * event loop takes Ctrl-C and SIGTERM and keeps the grace period, which the main thread's cannot
 * while the guest runs (main-thread-helper-worker.ts). Started only once the guest has waited for
 * something outside or run a while, or was asked to stop: a worker costs as much to start as the
 * guest's own would have.
 */
export class MainThreadHelper {
  private readonly worker: Worker;

  constructor(
    /** The words shared with the main thread (helper-words.ts), made before the helper exists. */
    private readonly state: Int32Array,
    graceMs: number,
  ) {
    const data: HelperData = { state: state.buffer as SharedArrayBuffer, graceMs, lastResortMs: LAST_RESORT_MS };
    this.worker = startWorker(MAIN_THREAD_HELPER_URL, { workerData: data, name: 'flexvm-main-thread-helper' });
    this.worker.on('error', () => {}); // then the SIGINT watchdog keeps Ctrl-C and SIGTERM its default action
    this.worker.unref(); // it never keeps the process alive
  }

  /** The words a helper shares with the main thread. */
  static words(): Int32Array {
    return new Int32Array(new SharedArrayBuffer(WORDS * 4));
  }

  /** The guest registered: a stop request now also writes its shutdown word. */
  guest(memory: SharedArrayBuffer, ctrl: number, addonPath: string): void {
    this.post({ type: 'guest', memory, shutdownAddr: ctrl + C_SHUTDOWN, completionsAddr: ctrl + C_COMPLETIONS, addonPath });
  }

  /** The main thread took the first stop request: the grace period runs from now. */
  grace(): void {
    this.post({ type: 'grace' });
  }

  /** The guest has ended: the helper goes. */
  end(): void {
    if (Atomics.exchange(this.state, W_ENDED, 1) === 0) void this.worker.terminate();
  }

  private post(m: ToHelper): void {
    this.worker.postMessage(m);
  }
}
