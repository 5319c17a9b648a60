import { randomFillSync } from 'node:crypto';
import { getrandomLength } from '../common/random.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/** getrandom(buf, len, flags): the host's CSPRNG (node:crypto), which never blocks once seeded. */
export function sysGetrandom(_k: OsKernel, p: OsProcess, c: Call): number {
  const len = getrandomLength(c);
  if (len <= 0) return len;
  p.memory.check(c.a0, len);
  p.memory.write(c.a0, randomFillSync(new Uint8Array(len)));
  return len;
}
