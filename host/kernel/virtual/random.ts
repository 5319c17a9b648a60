import { getrandomLength } from '../common/random.js';
import type { Call } from '../kernel.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/**
 * The kernel's deterministic random stream: xoshiro128** seeded through splitmix32 from
 * options.seed, shared by every guest of the kernel in call order. Not for cryptography: it is
 * reproducible on purpose.
 */
export class DeterministicRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed = 0) {
    let state = (Math.floor(seed / 0x1_0000_0000) ^ Math.imul(seed >>> 0, 0x9e3779b9)) | 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // xoshiro's one forbidden state.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      let v = this.nextU32();
      for (let j = i; j < Math.min(i + 4, out.length); j++) {
        out[j] = v & 0xff;
        v >>>= 8;
      }
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** getrandom: the next bytes of the kernel's stream (a zero length still checks the pointer). */
export function sysGetrandom(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const n = getrandomLength(c);
  if (n < 0) return n;
  p.memory.check(c.a0, n);
  const bytes = new Uint8Array(n);
  k.random.fill(bytes);
  p.memory.write(c.a0, bytes);
  return n;
}
