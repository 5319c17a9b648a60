import type { Worker } from 'node:worker_threads';
import { C_COMPLETIONS, C_SHUTDOWN } from '../abi/v1.js';
import { SIGTERM_WATCHER_URL, startWorker } from '../worker-entry-points.js';
import { W_ENDED, W_SIGNALS, WORDS, type GuestWords, type WatcherData } from './sigterm-words.js';

/** How long, past the grace period, the main thread has to come back before the process is killed. */
const LAST_RESORT_MS = 1000;

/**
 * SIGTERM for a guest on the main thread (main-thread-signals.ts): a small worker whose event loop
 * takes the signal, since the main thread's cannot while the guest runs (sigterm-watcher-worker.ts).
 * Started only once a guest has run for a while: a worker costs as much to start as the guest's own
 * would have.
 */
export class SigtermWatcher {
  private readonly state = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  private readonly worker: Worker;

  private constructor(graceMs: number) {
    const data: WatcherData = { state: this.state.buffer as SharedArrayBuffer, firstMs: graceMs + LAST_RESORT_MS, againMs: LAST_RESORT_MS };
    this.worker = startWorker(SIGTERM_WATCHER_URL, { workerData: data, name: 'flexvm-sigterm' });
    this.worker.on('error', () => {}); // then SIGTERM keeps its default action
    this.worker.unref(); // it never keeps the process alive
  }

  static start(graceMs: number): SigtermWatcher {
    return new SigtermWatcher(graceMs);
  }

  /** SIGTERMs received so far. */
  get signals(): number {
    return Atomics.load(this.state, W_SIGNALS);
  }

  /** The guest registered: a SIGTERM now also writes its shutdown word. */
  guest(memory: SharedArrayBuffer, ctrl: number, addonPath: string): void {
    const words: GuestWords = { memory, shutdownAddr: ctrl + C_SHUTDOWN, completionsAddr: ctrl + C_COMPLETIONS, addonPath };
    this.worker.postMessage(words);
  }

  /** The guest has ended: the watcher goes. */
  end(): void {
    if (Atomics.exchange(this.state, W_ENDED, 1) === 0) void this.worker.terminate();
  }
}
