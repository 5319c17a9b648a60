import { SYSCALLS, ERRNO_NAMES } from '../abi/v1.js';
import type { EntryCall } from './entry-call.js';
import type { GuestSlot } from './guest-slot.js';

const NAMES = new Map(SYSCALLS.map((s) => [s.nr, s]));
const TWO_32 = 0x1_0000_0000;

/** `pid name(args) = result`, with arguments as the ABI table names them (flexvm run --trace). */
export function traceLine(g: GuestSlot, call: EntryCall, result: number): string {
  const info = NAMES.get(call.sysno);
  const slots = [call.a0, call.a1, call.a2, call.a3, call.a4, call.a5];
  const args = info
    ? info.args.map((a) => (a.type === 'i64' ? String(slots[a.slot + 1]! * TWO_32 + (slots[a.slot]! >>> 0)) : a.type === 'ptr' || a.type === 'cstr' ? `0x${(slots[a.slot]! >>> 0).toString(16)}` : String(slots[a.slot])))
    : slots.map(String);
  const err = result < 0 ? ` ${ERRNO_NAMES[-result] ?? ''}` : '';
  return `[${g.pid}] ${info?.name ?? `syscall_${call.sysno}`}(${args.join(', ')})${call.flags ? ' NOWAIT' : ''} = ${result}${err} (thread ${call.thread})`;
}
