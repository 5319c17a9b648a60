// Worker for tests/guest-memory.test.ts: grows the shared memory it is given by one page each time
// the main thread asks, then says so through a shared flag (a guest growing its memory, seen from a
// syscall thread).
import { parentPort, workerData } from 'node:worker_threads';

const { memory, flag } = workerData as { memory: WebAssembly.Memory; flag: Int32Array };
parentPort!.on('message', (round: number) => {
  memory.grow(1);
  Atomics.store(flag, 0, round);
  Atomics.notify(flag, 0);
});
