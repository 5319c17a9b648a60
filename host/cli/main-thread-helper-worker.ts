// The helper thread of a guest on the main thread (main-thread-helper.ts): the event loop the
// blocked main thread does not have. Node gives a worker no `process.on(signal)`; its signal
// binding is how this loop takes SIGINT and SIGTERM (libuv hands a signal to every loop that
// watches it, and installing its handler takes the signals from the main thread's SIGINT watchdog).
// What the CLI does for any guest, it does here: the first request asks the guest to stop (the
// shutdown word, then a wake-up: a guest that computes sees it too) and starts the grace period; a
// second one, or the grace period's end, forces the end, which the main thread carries out when its
// guest next sleeps. A main thread that does not come back goes with the process.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { FORCE_GRACE, FORCE_NOW, W_ENDED, W_FORCE, W_STOPS, type HelperData, type ToHelper } from './helper-words.js';

const { graceMs, lastResortMs } = workerData as HelperData;
const state = new Int32Array((workerData as HelperData).state);
let guest: (ToHelper & { type: 'guest' }) | null = null;
let wake: ((memory: SharedArrayBuffer, addr: number) => void) | null = null;
let grace: NodeJS.Timeout | null = null;

parentPort!.on('message', (m: ToHelper) => {
  if (m.type === 'guest') guest = m;
  else startGrace();
});

const ended = (): boolean => Atomics.load(state, W_ENDED) !== 0;

/** Wakes the guest's sleep (the kernel's futex: the addon's wake), after changing its completions word. */
function wakeGuest(stop: boolean): void {
  const g = guest;
  if (!g) return; // not registered yet: the main thread writes the word once it is
  const i32 = new Int32Array(g.memory);
  if (stop) Atomics.store(i32, g.shutdownAddr >> 2, 1);
  Atomics.add(i32, g.completionsAddr >> 2, 1);
  wake ??= (createRequire(import.meta.url)(g.addonPath) as { wake(memory: SharedArrayBuffer, addr: number): void }).wake;
  wake(g.memory, g.completionsAddr);
}

function startGrace(): void {
  grace ??= setTimeout(() => force(FORCE_GRACE, 'flexvm: the guest did not stop in time; killing the process\n'), graceMs);
}

/** The guest must end now: the main thread ends it when it looks; if it does not, the process goes (128 + SIGKILL). */
function force(kind: number, last: string): void {
  if (ended() || Atomics.compareExchange(state, W_FORCE, 0, kind) !== 0) return;
  wakeGuest(false);
  setTimeout(() => {
    if (ended()) return;
    writeSync(2, last);
    process.kill(process.pid, 'SIGKILL');
  }, lastResortMs).unref();
}

function onSignal(): void {
  if (ended()) return; // the guest has gone; the main thread is finishing
  const n = Atomics.add(state, W_STOPS, 1) + 1;
  if (n === 1) {
    writeSync(2, '\nflexvm: stopping guests (Ctrl-C again to force)\n');
    wakeGuest(true);
    startGrace();
  } else {
    writeSync(2, 'flexvm: interrupted again, exiting now\n');
    force(FORCE_NOW, 'flexvm: the guest does not come back; killing the process\n');
  }
}

try {
  process.noDeprecation = true; // this thread's warnings only
  const { Signal } = (process as unknown as { binding(name: string): { Signal: new () => SignalHandle } }).binding('signal_wrap');
  for (const signum of [2, 15]) {
    const h = new Signal();
    h.onsignal = onSignal;
    h.start(signum);
  }
} catch {
  // The main thread's SIGINT watchdog keeps SIGINT; SIGTERM keeps its default action.
}

interface SignalHandle {
  onsignal: () => void;
  start(signum: number): number;
}
