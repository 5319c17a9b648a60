/** Options of the virtual kernel (VMOptions.kernel). */
export interface VirtualKernelOptions {
  readonly kind: 'virtual';
  /** Files to create before any guest runs (path -> contents). */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** Start of the simulated realtime clock, in ms since the epoch. */
  readonly epochMs?: number;
  /** Seed of the deterministic getrandom stream. */
  readonly seed?: number;
}
