// The cost of system calls, per call and per request, for synchronous calls (sync and epoll modes) and
// exception-less ones. Pure functions of a profile's numbers and of what a run counted.
//
// Synchronous, on one core: each call costs the mode switch D, the kernel work K / IPC_k, and then the
// user's next u instructions run on the recovery curve of that call (scaled by how much the call evicts
// compared with the call the curve was measured with).
// Exception-less, the syscall thread on another core: the user core runs its u instructions at the
// baseline IPC and pays only the shared-memory traffic: the entry's cache line moves to the syscall
// core and back with the result (2 transfers per call), plus the batch's shared lines (the tail and
// the masks, 2 transfers per batch) and a wake-up when the syscall thread slept. The syscall core pays
// the kernel work and the same transfers. No mode switch, no pollution of the user core.
import { cyclesFor, scaled, type RecoveryCurve } from './recovery.js';
import { classOf } from './call-classes.js';

export interface RefillCycles {
  readonly l1i: number;
  readonly l1d: number;
  readonly l2: number;
  readonly l3: number;
  readonly dtlb: number;
}

export interface KernelRow {
  readonly instructions: number;
  readonly cycles: number;
  readonly evicts: RefillCycles;
}

/** The profile numbers the cost model needs. */
export interface CostProfile {
  readonly curve: RecoveryCurve;
  readonly modeSwitchCycles: number;
  readonly refill: RefillCycles;
  readonly cacheLineTransferCycles: number;
  readonly wakeupCycles: number;
  readonly kernelCalls: Readonly<Record<string, KernelRow>>;
  /** The call the recovery curve was measured after (its pollution is scale 1). */
  readonly curveCall: string;
}

/** Cycles of refills to bring back what a call evicted: its pollution weight. */
export function refillWeight(row: KernelRow, refill: RefillCycles): number {
  const e = row.evicts;
  return e.l1i * refill.l1i + e.l1d * refill.l1d + e.l2 * refill.l2 + e.l3 * refill.l3 + e.dtlb * refill.dtlb;
}

/** The kernel's cost of one call of `name`: instructions, IPC and pollution relative to the curve's call. */
export interface CallCost {
  readonly name: string;
  /** The per-call row it was charged as, or null for the table's mean. */
  readonly row: string | null;
  readonly kernelInstructions: number;
  readonly kernelIpc: number;
  readonly kernelCycles: number;
  readonly pollutionScale: number;
}

export function callCost(p: CostProfile, name: string): CallCost {
  const cls = classOf(name);
  const rows = Object.entries(p.kernelCalls);
  const base = refillWeight(p.kernelCalls[p.curveCall]!, p.refill);
  if (cls.row !== null && p.kernelCalls[cls.row]) {
    const r = p.kernelCalls[cls.row]!;
    const instr = r.instructions * cls.share;
    const cycles = r.cycles * cls.share;
    return { name, row: cls.row, kernelInstructions: instr, kernelIpc: r.instructions / r.cycles, kernelCycles: cycles, pollutionScale: (refillWeight(r, p.refill) * cls.share) / base };
  }
  // The mean per call over the table (pair rows count as two calls).
  let calls = 0;
  let instr = 0;
  let cycles = 0;
  let weight = 0;
  for (const [rowName, r] of rows) {
    const n = rowName.split('+').length;
    calls += n;
    instr += r.instructions;
    cycles += r.cycles;
    weight += refillWeight(r, p.refill);
  }
  return { name, row: null, kernelInstructions: instr / calls, kernelIpc: instr / cycles, kernelCycles: cycles / calls, pollutionScale: weight / calls / base };
}

/** What a run counted, per request (or per whatever unit the caller divides by). */
export interface Workload {
  /** Calls per request, by call name. */
  readonly callsPerRequest: Readonly<Record<string, number>>;
  /** User instructions (x86 equivalent) per call, on average. */
  readonly userInstructionsPerCall: number;
  /** Mean entries a syscall thread took per pass (exception-less batching); 1 = no batching. */
  readonly meanBatch: number;
  /** Syscall-thread wake-ups per request (exception-less). */
  readonly wakeupsPerRequest: number;
}

export interface SyncCost {
  readonly userCycles: number;
  readonly modeSwitchCycles: number;
  readonly kernelCycles: number;
  readonly totalCycles: number;
  /** User instructions per user cycle, the mode switch counted as user time as the paper's counters did. */
  readonly userIpc: number;
  readonly kernelIpc: number;
}

export interface ExceptionlessCost {
  /** The user core: its work at baseline IPC plus the shared-memory traffic it waits for. */
  readonly userCycles: number;
  readonly userTrafficCycles: number;
  /** The syscall core: the kernel work and its side of the traffic. */
  readonly kernelCycles: number;
  readonly kernelTrafficCycles: number;
  readonly userIpc: number;
  readonly kernelIpc: number;
  /** Both cores' cycles together, and the busier core's (what bounds throughput). */
  readonly totalCycles: number;
  readonly criticalCycles: number;
}

export interface RequestCost {
  readonly calls: number;
  readonly userInstructions: number;
  readonly kernelInstructions: number;
  readonly sync: SyncCost;
  readonly exceptionless: ExceptionlessCost;
  /** Calls charged with the table's mean because no published row matches them. */
  readonly estimatedCalls: readonly string[];
}

export function requestCost(p: CostProfile, w: Workload): RequestCost {
  const u = w.userInstructionsPerCall;
  let calls = 0;
  let syncUser = 0;
  let kernelCycles = 0;
  let kernelInstructions = 0;
  const estimated: string[] = [];
  for (const [name, n] of Object.entries(w.callsPerRequest)) {
    if (n <= 0) continue;
    const c = callCost(p, name);
    if (c.row === null) estimated.push(name);
    calls += n;
    kernelCycles += n * c.kernelCycles;
    kernelInstructions += n * c.kernelInstructions;
    syncUser += n * cyclesFor(scaled(p.curve, c.pollutionScale), u);
  }
  const userInstructions = calls * u;
  const modeSwitch = calls * p.modeSwitchCycles;
  const kernelIpc = kernelCycles > 0 ? kernelInstructions / kernelCycles : 0;
  const sync: SyncCost = {
    userCycles: syncUser,
    modeSwitchCycles: modeSwitch,
    kernelCycles,
    totalCycles: syncUser + modeSwitch + kernelCycles,
    userIpc: userInstructions > 0 ? userInstructions / (syncUser + modeSwitch) : 0,
    kernelIpc,
  };
  const batch = Math.max(1, w.meanBatch);
  const transfers = calls * 2 + (calls / batch) * 2;
  const traffic = transfers * p.cacheLineTransferCycles;
  const userWork = userInstructions / p.curve.baselineIpc;
  const userTraffic = traffic + w.wakeupsPerRequest * p.wakeupCycles;
  const xUser = userWork + userTraffic;
  const xKernel = kernelCycles + traffic;
  const exceptionless: ExceptionlessCost = {
    userCycles: xUser,
    userTrafficCycles: userTraffic,
    kernelCycles: xKernel,
    kernelTrafficCycles: traffic,
    userIpc: userInstructions > 0 ? userInstructions / xUser : 0,
    kernelIpc: xKernel > 0 ? kernelInstructions / xKernel : 0,
    totalCycles: xUser + xKernel,
    criticalCycles: Math.max(xUser, xKernel),
  };
  return { calls, userInstructions, kernelInstructions, sync, exceptionless, estimatedCalls: estimated.sort() };
}
