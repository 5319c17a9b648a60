// A check of the model against this host, where no counters exist: a user loop that makes a call
// every n instructions keeps a measurable fraction of its throughput. The model predicts it from the
// loop's own IPC (its instructions over its cycles without calls), the call's measured wall time, and
// the recovery curve (scaled for the call's pollution: none for the null call getppid, 1 for pwrite).
import { cyclesFor, scaled } from './recovery.js';
import type { RecoveryCurve } from './recovery.js';

export interface FractionCheck {
  readonly call: string;
  readonly instructions: number;
  readonly loopIpc: number;
  readonly measured: number;
  readonly predicted: number;
}

export function predictFraction(
  curve: RecoveryCurve,
  clockGHz: number,
  m: { call: string; instructions: number; plainNs: number; withCallNs: number; fraction: number },
  callNs: number,
  pollution: number,
): FractionCheck {
  const plainCycles = m.plainNs * clockGHz;
  const loopIpc = m.instructions / plainCycles;
  const c = scaled({ ...curve, baselineIpc: loopIpc }, pollution);
  const user = pollution > 0 ? cyclesFor(c, m.instructions) : plainCycles;
  const predicted = plainCycles / (user + callNs * clockGHz);
  return { call: m.call, instructions: m.instructions, loopIpc, measured: m.fraction, predicted };
}
