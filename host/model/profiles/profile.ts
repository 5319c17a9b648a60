// CPU profiles: data files (one per processor) whose every parameter carries its source. This module
// reads and checks them; the model (../core) only ever sees the plain numbers of a ResolvedProfile.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { paperDataDir, profilesDir } from '../paths.js';
import { readCsv } from '../data/csv.js';
import { fitRecovery, type RecoveryCurve } from '../core/recovery.js';
import { fitModeSwitch } from '../core/figure1.js';

/** A number and where it comes from. */
export interface Sourced<T = number> {
  readonly value: T;
  readonly source: string;
}

export interface KernelCall {
  readonly instructions: number;
  readonly cycles: number;
  /** As published (rounded); the model uses instructions / cycles. */
  readonly ipc: number;
  /** User-mode state the call evicts: lines of each cache and dTLB entries. */
  readonly evicts: { readonly l1i: number; readonly l1d: number; readonly l2: number; readonly l3: number; readonly dtlb: number };
}

/** A profile as stored (JSON). Fitted parameters name the data they are fitted to instead of a value. */
export interface ProfileFile {
  readonly name: string;
  readonly title: string;
  readonly notes?: readonly string[];
  readonly clockGHz: Sourced;
  readonly userBaselineIpc: Sourced;
  /** Fitted to a published recovery curve (a CSV of paper data), with `terms` decaying terms. */
  readonly recovery: { readonly fitTo: string; readonly binCycles: number; readonly terms: number; readonly source: string };
  /** The direct cost of a synchronous call as it shows in user IPC: a value, or fitted to Figure 1 points. */
  readonly modeSwitchCycles: Sourced | { readonly fitTo: readonly { readonly instructions: number; readonly ipc: number }[]; readonly source: string };
  /** Refill latency per evicted line/entry, for weighing how much a call pollutes. */
  readonly refillCycles: Sourced<{ readonly l1i: number; readonly l1d: number; readonly l2: number; readonly l3: number; readonly dtlb: number }>;
  /** Moving one modified cache line from one core to another. */
  readonly cacheLineTransferCycles: Sourced;
  /** Waking a thread that sleeps on a futex, cycles on the waker's core. */
  readonly wakeupCycles: Sourced;
  /** x86-64 instructions per Wasm instruction for the same work. */
  readonly wasmToX86: Sourced;
  /** Kernel work per call (a row per published call), and the row the pollution curve was measured with. */
  readonly kernel: { readonly calls: Readonly<Record<string, KernelCall>>; readonly curveCall: string; readonly source: string };
  /** Values measured on the machine (calibrate), for the record: not used by the model unless named above. */
  readonly measured?: Readonly<Record<string, Sourced>>;
}

/** The numbers the model uses, fits done. */
export interface ResolvedProfile {
  readonly name: string;
  readonly title: string;
  readonly file: ProfileFile;
  readonly clockGHz: number;
  readonly curve: RecoveryCurve;
  readonly curveRmsError: number;
  readonly modeSwitchCycles: number;
  readonly refill: ProfileFile['refillCycles']['value'];
  readonly cacheLineTransferCycles: number;
  readonly wakeupCycles: number;
  readonly wasmToX86: number;
  readonly kernelCalls: Readonly<Record<string, KernelCall>>;
  readonly curveCall: string;
}

const isSourced = (v: unknown): v is Sourced =>
  typeof v === 'object' && v !== null && typeof (v as Sourced).source === 'string' && (v as Sourced).source.length > 0 && 'value' in v;

/** Checks that every parameter has a source and a plausible value; throws with the first problem. */
export function checkProfile(p: ProfileFile, where: string): void {
  const need = (cond: boolean, what: string): void => {
    if (!cond) throw new Error(`${where}: ${what}`);
  };
  need(typeof p.name === 'string' && typeof p.title === 'string', 'name and title are required');
  for (const key of ['clockGHz', 'userBaselineIpc', 'refillCycles', 'cacheLineTransferCycles', 'wakeupCycles', 'wasmToX86'] as const) {
    need(isSourced(p[key]), `${key} needs a value and a source`);
  }
  for (const key of ['clockGHz', 'userBaselineIpc', 'cacheLineTransferCycles', 'wakeupCycles', 'wasmToX86'] as const) {
    const v = (p[key] as Sourced).value;
    need(Number.isFinite(v) && v > 0, `${key} must be a positive number`);
  }
  need(typeof p.recovery?.source === 'string' && typeof p.recovery.fitTo === 'string', 'recovery needs fitTo and a source');
  const ms = p.modeSwitchCycles as { source?: unknown };
  need(typeof ms?.source === 'string', 'modeSwitchCycles needs a source');
  need(typeof p.kernel?.source === 'string' && !!p.kernel.calls[p.kernel.curveCall], 'kernel needs a source and its curveCall among its calls');
}

/** Reads the profile called `name` (or a path to a profile file). */
export function loadProfile(nameOrPath: string): ResolvedProfile {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(profilesDir(), `${nameOrPath}.json`);
  let file: ProfileFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ProfileFile;
  } catch (err) {
    const known = profileNames().join(', ');
    throw new Error(`cannot read profile ${JSON.stringify(nameOrPath)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); profiles: ${known}`);
  }
  checkProfile(file, path);
  return resolveProfile(file);
}

/** The names of the shipped profiles. */
export function profileNames(): string[] {
  return readdirSync(profilesDir()).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

const fitCache = new Map<string, { curve: RecoveryCurve; rms: number }>();

/** Does the profile's fits (deterministic) and returns the plain numbers. */
export function resolveProfile(file: ProfileFile): ResolvedProfile {
  const baseline = file.userBaselineIpc.value;
  const key = `${file.recovery.fitTo}|${file.recovery.binCycles}|${file.recovery.terms}|${baseline}`;
  let fit = fitCache.get(key);
  if (!fit) {
    const rows = readCsv(join(paperDataDir(), file.recovery.fitTo));
    const points = rows.filter((r) => Number(r['cycles_since_return']) > 0).map((r) => ({ cycles: Number(r['cycles_since_return']), ipc: Number(r['user_ipc']) }));
    const f = fitRecovery(points, baseline, file.recovery.binCycles, file.recovery.terms);
    fit = { curve: f.curve, rms: f.rmsError };
    fitCache.set(key, fit);
  }
  const ms = file.modeSwitchCycles;
  const modeSwitchCycles = 'value' in ms ? ms.value : fitModeSwitch(fit.curve, ms.fitTo);
  return {
    name: file.name,
    title: file.title,
    file,
    clockGHz: file.clockGHz.value,
    curve: fit.curve,
    curveRmsError: fit.rms,
    modeSwitchCycles,
    refill: file.refillCycles.value,
    cacheLineTransferCycles: file.cacheLineTransferCycles.value,
    wakeupCycles: file.wakeupCycles.value,
    wasmToX86: file.wasmToX86.value,
    kernelCalls: file.kernel.calls,
    curveCall: file.kernel.curveCall,
  };
}
