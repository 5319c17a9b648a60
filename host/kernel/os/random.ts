import { randomFillSync } from 'node:crypto';
import { EINVAL, GRND_NONBLOCK, GRND_RANDOM } from '../../abi/v1.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/** Linux's GRND_INSECURE (5.6+); not in the ABI table, accepted like the other flags. */
const GRND_INSECURE = 0x0004;
/** One getrandom call returns at most this much (Linux: 32 MiB - 1), a short read beyond. */
const MAX_GETRANDOM = 0x1ff_ffff;

/** getrandom(buf, len, flags): the host's CSPRNG (node:crypto), which never blocks once seeded. */
export function sysGetrandom(_k: OsKernel, p: OsProcess, c: Call): number {
  const [ptr, flags] = [c.a0, c.a2];
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) return -EINVAL;
  if ((flags & GRND_RANDOM) !== 0 && (flags & GRND_INSECURE) !== 0) return -EINVAL;
  const len = Math.min(c.a1 >>> 0, MAX_GETRANDOM);
  if (len === 0) return 0;
  p.memory.check(ptr, len);
  p.memory.write(ptr, randomFillSync(new Uint8Array(len)));
  return len;
}
