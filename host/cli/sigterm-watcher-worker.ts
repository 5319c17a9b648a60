// The SIGTERM watcher's thread (sigterm-watcher.ts). While a guest runs on the main thread, that
// thread's event loop cannot run Node's signal handlers, so this thread's loop takes SIGTERM: it
// counts it for the main thread, which does what the CLI does for any guest when its guest next
// sleeps, and asks the guest to stop itself (the shutdown word, then a wake-up), so that a guest
// that computes sees it too. A main thread that never comes back is ended with the process.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { W_ENDED, W_SIGNALS, type GuestWords, type WatcherData } from './sigterm-words.js';

const { firstMs, againMs } = workerData as WatcherData;
const state = new Int32Array((workerData as WatcherData).state);
let guest: GuestWords | null = null;

parentPort!.on('message', (m: GuestWords) => {
  guest = m;
});

/** The guest's shutdown word, then a wake-up of its sleep (the kernel's futex: the addon's wake). */
function stopGuest(): void {
  const g = guest;
  if (!g) return; // not registered yet: the main thread writes the word once it is
  const i32 = new Int32Array(g.memory);
  Atomics.store(i32, g.shutdownAddr >> 2, 1);
  Atomics.add(i32, g.completionsAddr >> 2, 1);
  (createRequire(import.meta.url)(g.addonPath) as { wake(memory: SharedArrayBuffer, addr: number): void }).wake(g.memory, g.completionsAddr);
}

function onSigterm(): void {
  const n = Atomics.add(state, W_SIGNALS, 1) + 1;
  if (Atomics.load(state, W_ENDED) !== 0) return; // the guest has gone; the main thread is finishing
  stopGuest();
  setTimeout(() => {
    if (Atomics.load(state, W_ENDED) !== 0) return;
    // A guest computing without ever sleeping never lets the main thread look: a forced stop, 128 + SIGKILL.
    writeSync(2, 'flexvm: the guest did not stop (its thread does not come back); killing the process\n');
    process.kill(process.pid, 'SIGKILL');
  }, n === 1 ? firstMs : againMs).unref();
}

// Node gives a worker no `process.on(signal)`; its signal binding is how this thread's loop takes a
// signal (libuv hands a signal to every loop that watches it). Without it SIGTERM keeps its default.
try {
  process.noDeprecation = true; // this thread's warnings only
  const { Signal } = (process as unknown as { binding(name: string): { Signal: new () => SignalHandle } }).binding('signal_wrap');
  const h = new Signal();
  h.onsignal = onSigterm;
  h.start(15);
} catch {
  // SIGTERM keeps its default action
}

interface SignalHandle {
  onsignal: () => void;
  start(signum: number): number;
}
