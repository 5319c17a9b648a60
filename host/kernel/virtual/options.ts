import type { KernelOptions } from '../kernel.js';

/** Options of the virtual kernel (VMOptions.kernel); allowConnect comes from KernelOptions. */
export interface VirtualKernelOptions extends KernelOptions {
  readonly kind: 'virtual';
  /** Files to create before any guest runs (path -> contents). */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** Start of the simulated realtime clock, in ms since the epoch. */
  readonly epochMs?: number;
  /** Seed of the deterministic getrandom stream. */
  readonly seed?: number;
}
