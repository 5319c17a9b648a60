import { getrandomLength } from '../common/random.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/** Web Crypto fills at most this many bytes per call. */
const FILL_MAX = 65536;

/**
 * getrandom(buf, len, flags): the host's CSPRNG, which never blocks once seeded. Node's global Web
 * Crypto (the same generator as node:crypto), loaded on the first call: importing node:crypto
 * would cost every syscall thread's start-up.
 */
export function sysGetrandom(_k: OsKernel, p: OsProcess, c: Call): number {
  const len = getrandomLength(c);
  if (len <= 0) return len;
  p.memory.check(c.a0, len);
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i += FILL_MAX) globalThis.crypto.getRandomValues(bytes.subarray(i, i + FILL_MAX));
  p.memory.write(c.a0, bytes);
  return len;
}
