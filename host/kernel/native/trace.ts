import { GuestMemory } from '../../memory/guest-memory.js';
import { formatTrace } from '../../syscall/trace.js';

/** Numbers per trace record of the addon: pid, sysno, thread, flags, a0..a5, result. */
const RECORD = 11;
/** Stands in for a guest already gone: every pointer then shows as an address. */
const EMPTY = new GuestMemory(new WebAssembly.Memory({ initial: 0 }));

/**
 * Turns the addon's trace records into the lines `flexvm run --trace` prints for every kernel
 * (host/syscall/trace.ts: strings, addresses and flags by name). `memoryOf` finds the guest's memory
 * by pid; the records are collected shortly after the calls completed, so a buffer the guest has
 * reused since shows its newer bytes.
 */
export function traceLines(flat: readonly number[], memoryOf: (pid: number) => GuestMemory | undefined): string[] {
  const out: string[] = [];
  for (let k = 0; k + RECORD <= flat.length; k += RECORD) {
    const [pid, sysno, thread, flags] = [flat[k]!, flat[k + 1]!, flat[k + 2]!, flat[k + 3]!];
    const slots = flat.slice(k + 4, k + 10);
    const result = flat[k + 10]!;
    out.push(formatTrace(pid, sysno, slots, (flags & 1) !== 0, result, thread, memoryOf(pid) ?? EMPTY));
  }
  return out;
}
