import type { GuestMemory } from '../../memory/guest-memory.js';
import type { LinuxCalls } from '../preview1/linux.js';
import type { Preopen } from '../preview1/index.js';

/**
 * What every `wasi:*` interface of a component works with. The component's data lives in its own
 * (unshared) memories, which the syscall threads cannot see; so the host keeps a small shared
 * memory of its own, the *port*: control block, syscall pages and a scratch area. Bytes the kernel
 * reads or writes (paths, file data, stat records) are copied through that scratch.
 */
export interface P2Context {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly preopens: readonly Preopen[];
  readonly sys: LinuxCalls;
  /** The port memory. */
  mem(): GuestMemory;
  /** Starts a host call: counts it (a mode switch) and empties the scratch. */
  begin(): void;
  /** The largest data transfer one call moves through scratch (bigger ones are done in pieces). */
  readonly chunk: number;
}
