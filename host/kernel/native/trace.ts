import { ERRNO_NAMES, SYSCALLS } from '../../abi/v1.js';

const NAMES = new Map(SYSCALLS.map((s) => [s.nr, s]));
const TWO_32 = 0x1_0000_0000;

/**
 * Turns the addon's trace records (11 numbers each: pid, sysno, thread, flags, a0..a5, result) into
 * the lines `flexvm run --trace` prints for every kernel: `[pid] name(args) = result ERRNO (thread t)`.
 */
export function traceLines(flat: readonly number[]): string[] {
  const out: string[] = [];
  for (let k = 0; k + 11 <= flat.length; k += 11) {
    const [pid, sysno, thread, flags] = [flat[k]!, flat[k + 1]!, flat[k + 2]!, flat[k + 3]!];
    const slots = flat.slice(k + 4, k + 10);
    const result = flat[k + 10]!;
    const info = NAMES.get(sysno);
    const args = info
      ? info.args.map((a) =>
          a.type === 'i64'
            ? String(slots[a.slot + 1]! * TWO_32 + (slots[a.slot]! >>> 0))
            : a.type === 'ptr' || a.type === 'cstr'
              ? `0x${(slots[a.slot]! >>> 0).toString(16)}`
              : String(slots[a.slot]),
        )
      : slots.map(String);
    const err = result < 0 ? ` ${ERRNO_NAMES[-result] ?? ''}` : '';
    out.push(`[${pid}] ${info?.name ?? `syscall_${sysno}`}(${args.join(', ')})${flags & 1 ? ' NOWAIT' : ''} = ${result}${err} (thread ${thread})`);
  }
  return out;
}
