// The helper thread of a guest on the main thread (main-thread-helper.ts): an event loop for what
// the blocked main thread cannot wait for itself.
// - SIGTERM: Node gives a worker no `process.on(signal)`; its signal binding is how this loop takes
//   the signal (libuv hands a signal to every loop that watches it). It is counted for the main
//   thread, which does what the CLI does for any guest when its guest next sleeps, and the stop is
//   asked at once (the shutdown word, then a wake-up), so that a guest that computes sees it too.
// - The grace period's end and a second SIGTERM: the main thread is interrupted with SIGINT, which
//   Node's SIGINT watchdog turns into the end of the guest's run there (main-thread-signals.ts),
//   whatever the guest is doing. A main thread that still does not come back goes with the process.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { W_ENDED, W_GRACE_OVER, W_INTERRUPTS, W_SIGTERMS, type HelperData, type ToHelper } from './helper-words.js';

const { lastResortMs } = workerData as HelperData;
const state = new Int32Array((workerData as HelperData).state);
let guest: (ToHelper & { type: 'guest' }) | null = null;
let grace: NodeJS.Timeout | null = null;

parentPort!.on('message', (m: ToHelper) => {
  if (m.type === 'guest') guest = m;
  else if (grace === null) grace = setTimeout(graceOver, m.ms);
});

const ended = (): boolean => Atomics.load(state, W_ENDED) !== 0;

/** The guest's shutdown word, then a wake-up of its sleep (the kernel's futex: the addon's wake). */
function askStop(): void {
  const g = guest;
  if (!g) return; // not registered yet: the main thread writes the word once it is
  const i32 = new Int32Array(g.memory);
  Atomics.store(i32, g.shutdownAddr >> 2, 1);
  Atomics.add(i32, g.completionsAddr >> 2, 1);
  (createRequire(import.meta.url)(g.addonPath) as { wake(memory: SharedArrayBuffer, addr: number): void }).wake(g.memory, g.completionsAddr);
}

function graceOver(): void {
  if (ended()) return;
  Atomics.store(state, W_GRACE_OVER, 1);
  interrupt();
  setTimeout(() => {
    if (ended()) return;
    writeSync(2, 'flexvm: the guest did not stop; killing the process\n');
    process.kill(process.pid, 'SIGKILL');
  }, lastResortMs).unref();
}

/** Makes the main thread look now, whatever its guest is doing (Node's SIGINT watchdog there). */
function interrupt(): void {
  Atomics.add(state, W_INTERRUPTS, 1);
  process.kill(process.pid, 'SIGINT');
}

function onSigterm(): void {
  const n = Atomics.add(state, W_SIGTERMS, 1) + 1;
  if (ended()) return;
  if (n === 1) askStop();
  else interrupt(); // a second one exits at once, as the CLI does for any guest
}

try {
  process.noDeprecation = true; // this thread's warnings only
  const { Signal } = (process as unknown as { binding(name: string): { Signal: new () => SignalHandle } }).binding('signal_wrap');
  const h = new Signal();
  h.onsignal = onSigterm;
  h.start(15);
} catch {
  // Without it SIGTERM keeps its default action.
}

interface SignalHandle {
  onsignal: () => void;
  start(signum: number): number;
}
