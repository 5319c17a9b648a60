import { EINVAL, GRND_NONBLOCK, GRND_RANDOM } from '../../abi/v1.js';
import type { Call } from '../kernel.js';

/** Linux's GRND_INSECURE (5.6+); not in the ABI table, accepted like the other flags. */
const GRND_INSECURE = 0x0004;
/** One getrandom call returns at most this much (Linux: 32 MiB - 1), a short read beyond. */
const MAX_GETRANDOM = 0x1ff_ffff;

/**
 * getrandom(buf, len, flags): how many bytes to return, or -EINVAL for flags Linux refuses. Where
 * the bytes come from is each kernel's own (a seeded stream, or the host's CSPRNG); neither waits.
 */
export function getrandomLength(c: Call): number {
  const flags = c.a2;
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) return -EINVAL;
  if ((flags & GRND_RANDOM) !== 0 && (flags & GRND_INSECURE) !== 0) return -EINVAL;
  return Math.min(c.a1 >>> 0, MAX_GETRANDOM);
}
