// User IPC of a program that makes one synchronous call every n user instructions (the event-driven
// paper's Figure 1), split into the direct cost of the mode switch and the indirect cost of pollution.
//
// Between two calls the user retires n instructions. Without calls that takes n / B cycles. After a
// call the user first pays the direct cost D (the trap, the pipeline drain and refill, which the
// paper's counters charged to user mode), then runs on the recovering curve: cyclesFor(curve, n).
//     direct only (a null call, no pollution):  ipc = n / (n / B + D)
//     direct and indirect (pwrite):             ipc = n / (cyclesFor(curve, n) + D)
// Each call restarts the curve from its start: a call right after another evicts as much as the
// first did (an upper bound on pollution at high call rates; see docs/model.md).
import { goldenSection } from './fit.js';
import { cyclesFor, type RecoveryCurve } from './recovery.js';

export interface Figure1Point {
  readonly instructions: number;
  /** User IPC with neither cost. */
  readonly baselineIpc: number;
  /** With the direct cost only. */
  readonly directIpc: number;
  /** With both costs. */
  readonly ipc: number;
  /** IPC lost to each cost (baseline - directIpc, directIpc - ipc). */
  readonly directLoss: number;
  readonly indirectLoss: number;
}

export function figure1Point(curve: RecoveryCurve, modeSwitchCycles: number, instructions: number): Figure1Point {
  const b = curve.baselineIpc;
  const directIpc = instructions / (instructions / b + modeSwitchCycles);
  const ipc = instructions / (cyclesFor(curve, instructions) + modeSwitchCycles);
  return { instructions, baselineIpc: b, directIpc, ipc, directLoss: b - directIpc, indirectLoss: directIpc - ipc };
}

/** Instructions between calls, 500 to 100,000, spaced evenly on a log scale (Figure 1's x axis). */
export function figure1Axis(points = 41, from = 500, to = 100_000): number[] {
  return Array.from({ length: points }, (_, i) => Math.round(from * Math.pow(to / from, i / (points - 1))));
}

/**
 * The direct cost D that best reproduces published Figure 1 points (least squares on IPC), given the
 * recovery curve. Searched in [0, 5,000] cycles.
 */
export function fitModeSwitch(curve: RecoveryCurve, points: readonly { instructions: number; ipc: number }[]): number {
  const err = (d: number): number => points.reduce((s, p) => s + (figure1Point(curve, d, p.instructions).ipc - p.ipc) ** 2, 0);
  return Math.round(goldenSection(err, 0, 5000) * 10) / 10;
}
