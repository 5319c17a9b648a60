// User-mode IPC after a synchronous system call, and how it recovers (FlexSC, OSDI 2010, Figure 2).
//
// The model: t cycles after the return to user mode, user IPC is
//     ipc(t) = B * (1 - sum_k a_k * exp(-t / tau_k))
// a sum of decaying terms, one per family of processor state the kernel evicted (the fast one for the
// L1 caches, TLB and branch predictors, the slow one for L2/L3 lines). B is the IPC without calls.
// Everything else follows in closed form: instructions retired by time T, and the time to retire n.
import { nelderMead, solveIncreasing } from './fit.js';

export interface RecoveryTerm {
  /** Fraction of the baseline IPC lost right after the call, for this term. */
  readonly amplitude: number;
  /** Time constant, in cycles. */
  readonly tauCycles: number;
}

export interface RecoveryCurve {
  /** User IPC with no system calls (B). */
  readonly baselineIpc: number;
  readonly terms: readonly RecoveryTerm[];
}

/** A point of a published curve: mean user IPC over the bin (`cycles` - `bin`, `cycles`]. */
export interface BinnedIpc {
  readonly cycles: number;
  readonly ipc: number;
}

/** Instantaneous user IPC `t` cycles after the return. */
export function ipcAt(curve: RecoveryCurve, t: number): number {
  let lost = 0;
  for (const k of curve.terms) lost += k.amplitude * Math.exp(-t / k.tauCycles);
  return curve.baselineIpc * (1 - lost);
}

/** Instructions retired in the first `t` cycles after the return: the integral of ipcAt. */
export function instructionsBy(curve: RecoveryCurve, t: number): number {
  let lost = 0;
  for (const k of curve.terms) lost += k.amplitude * k.tauCycles * (1 - Math.exp(-t / k.tauCycles));
  return curve.baselineIpc * (t - lost);
}

/** Cycles the user needs after a call to retire `n` instructions. */
export function cyclesFor(curve: RecoveryCurve, n: number): number {
  if (n <= 0) return 0;
  return solveIncreasing((t) => instructionsBy(curve, t), n, 0, Math.max(1, n / curve.baselineIpc));
}

/** Mean IPC over the bin (t0, t1]. */
export function meanIpc(curve: RecoveryCurve, t0: number, t1: number): number {
  return (instructionsBy(curve, t1) - instructionsBy(curve, t0)) / (t1 - t0);
}

/** Cycles lost to the pollution of one call (the area between the baseline and the curve, in cycles of work). */
export function lostCycles(curve: RecoveryCurve): number {
  return curve.terms.reduce((s, k) => s + k.amplitude * k.tauCycles, 0);
}

/**
 * A call that pollutes `scale` times as much as the one the curve was measured with: each unit of
 * pollution leaves a fraction (1 - A) of the state in place, so `scale` units leave (1 - A)^scale and
 * the total amplitude stays below 1 however large the call (the terms keep their proportions).
 */
export function scaled(curve: RecoveryCurve, scale: number): RecoveryCurve {
  const total = curve.terms.reduce((s, k) => s + k.amplitude, 0);
  if (total <= 0 || scale === 1) return curve;
  const target = 1 - Math.pow(1 - Math.min(total, 0.999), scale);
  return { baselineIpc: curve.baselineIpc, terms: curve.terms.map((k) => ({ amplitude: (k.amplitude * target) / total, tauCycles: k.tauCycles })) };
}

export interface RecoveryFit {
  readonly curve: RecoveryCurve;
  /** Root-mean-square error of the fitted bin means against the published points, in IPC. */
  readonly rmsError: number;
}

/**
 * Fits `terms` decaying terms to published bin means (bins of `bin` cycles ending at each point's
 * `cycles`), with the baseline IPC given. Least squares on the bin means, Nelder-Mead from a fixed
 * start (amplitudes split evenly, time constants spread from 1,000 cycles by factors of 4), with
 * amplitudes kept in [0, 1) and time constants above 10 cycles by a penalty: deterministic.
 */
export function fitRecovery(points: readonly BinnedIpc[], baselineIpc: number, bin: number, terms = 2): RecoveryFit {
  const decode = (x: readonly number[]): RecoveryCurve => ({
    baselineIpc,
    terms: Array.from({ length: terms }, (_, i) => ({ amplitude: x[2 * i]!, tauCycles: x[2 * i + 1]! })),
  });
  const sse = (x: readonly number[]): number => {
    const c = decode(x);
    const total = c.terms.reduce((s, k) => s + k.amplitude, 0);
    if (c.terms.some((k) => k.amplitude < 0 || k.tauCycles < 10) || total >= 1) return 1e9;
    return points.reduce((s, p) => s + (meanIpc(c, Math.max(0, p.cycles - bin), p.cycles) - p.ipc) ** 2, 0);
  };
  const start: number[] = [];
  const step: number[] = [];
  for (let i = 0; i < terms; i++) {
    start.push(0.8 / terms, 1000 * 4 ** i);
    step.push(0.1, 500 * 4 ** i);
  }
  // Restart from the best point a few times: Nelder-Mead can stall on a flat valley.
  let x = start;
  for (let round = 0; round < 2; round++) x = nelderMead(sse, x, step, 1500);
  return { curve: decode(x), rmsError: Math.sqrt(sse(x) / points.length) };
}
