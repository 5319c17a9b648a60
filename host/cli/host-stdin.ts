import { fstatSync, readFileSync, readSync } from 'node:fs';
import { programKind } from '../wasi/wasi-module.js';

/** Most host standard input handed to a program (the rest is not read). */
const STDIN_MAX = 64 << 20;

/**
 * The host's standard input for a WASI program or component, when it is a file or a pipe (`prog < file`,
 * `cmd | flexvm run prog.wasm`): read to its end before the program starts and served by the kernel
 * as its fd 0. A terminal, a socket or nothing is left alone (the program reads end of file), so an
 * interactive shell or a supervising process never blocks the start. flexvm guests keep their
 * empty standard input. (Streaming it as the program reads needs the os kernel to read the host's
 * fd 0 itself: not done.)
 */
export function hostStdinFor(file: string): Uint8Array | undefined {
  try {
    if (programKind(readFileSync(file)) === 'flexvm') return undefined;
    const st = fstatSync(0);
    if (!st.isFIFO() && !st.isFile()) return undefined;
  } catch {
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(1 << 16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (total < STDIN_MAX) {
    let n: number;
    try {
      n = readSync(0, buf, 0, Math.min(buf.length, STDIN_MAX - total), null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5); // a non-blocking pipe with nothing yet
        continue;
      }
      break;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
  }
  return new Uint8Array(Buffer.concat(chunks));
}
