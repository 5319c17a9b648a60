import type { Worker } from 'node:worker_threads';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { MAIN_THREAD_HELPER_URL, startWorker } from '../worker-entry-points.js';
import { W_ENDED, W_GRACE_OVER, W_INTERRUPTS, W_SIGTERMS, WORDS, type HelperData, type ToHelper } from './helper-words.js';

/** How long, past the grace period, the main thread has to come back before the process is killed. */
const LAST_RESORT_MS = 1000;

/**
 * The helper thread of a guest on the main thread (main-thread-signals.ts): a small worker whose
 * event loop takes SIGTERM and keeps the grace period, which the main thread's cannot while the
 * guest runs (main-thread-helper-worker.ts). Started only once a guest has run for a while or was
 * asked to stop: a worker costs as much to start as the guest's own would have.
 */
export class MainThreadHelper {
  private readonly state = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  private readonly worker: Worker;

  constructor() {
    const data: HelperData = { state: this.state.buffer as SharedArrayBuffer, lastResortMs: LAST_RESORT_MS };
    this.worker = startWorker(MAIN_THREAD_HELPER_URL, { workerData: data, name: 'flexvm-main-thread-helper' });
    this.worker.on('error', () => {}); // then SIGTERM keeps its default action, and only a second Ctrl-C ends a stubborn guest
    this.worker.unref(); // it never keeps the process alive
  }

  /** SIGTERMs received so far. */
  get sigterms(): number {
    return Atomics.load(this.state, W_SIGTERMS);
  }

  /** SIGINTs the helper sent this thread (each is not the user's Ctrl-C). */
  get interrupts(): number {
    return Atomics.load(this.state, W_INTERRUPTS);
  }

  /** Whether the grace period has ended. */
  get graceOver(): boolean {
    return Atomics.load(this.state, W_GRACE_OVER) !== 0;
  }

  /** The guest registered: a SIGTERM now also writes its shutdown word. */
  guest(memory: SharedArrayBuffer, ctrl: number, addonPath: string): void {
    this.post({ type: 'guest', memory, shutdownAddr: ctrl + C_SHUTDOWN, completionsAddr: ctrl + C_COMPLETIONS, addonPath });
  }

  /** A stop was asked: the guest has `ms` to end. */
  grace(ms: number): void {
    this.post({ type: 'grace', ms });
  }

  /** The guest has ended: the helper goes. */
  end(): void {
    if (Atomics.exchange(this.state, W_ENDED, 1) === 0) void this.worker.terminate();
  }

  private post(m: ToHelper): void {
    this.worker.postMessage(m);
  }
}
