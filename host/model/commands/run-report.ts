// `flexvm run --model PROFILE`: what the run counted, and what the model makes of it on the profile's
// processor: calls per request, user instructions per call, user and kernel IPC, cycles per request,
// for synchronous calls (sync/epoll) against exception-less ones.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { GuestResult } from '../../vm/api.js';
import { requestCost, type RequestCost } from '../core/costs.js';
import { instrumentWasm } from '../count/instrument.js';
import { readProbes, type InstructionCount } from '../count/probes.js';
import { loadProfile, type ResolvedProfile } from '../profiles/profile.js';
import { table, type Row } from '../output/format.js';

/** The guest's bytes with instruction counting added, and the name it should run under. */
export function instrumentGuestFile(file: string): { bytes: Uint8Array; name: string } {
  return { bytes: instrumentWasm(readFileSync(file)), name: basename(file).replace(/\.wasm$/, '') };
}

export interface RunModel {
  readonly profile: string;
  readonly mode: string;
  readonly requests: number;
  readonly counted: {
    readonly wasmInstructions: number;
    readonly calls: number;
    readonly byCall: Readonly<Record<string, number>>;
    /** Per call kind, from the import wrappers (sync and epoll modes only). */
    readonly intervals: InstructionCount['byKind'];
    readonly meanBatch: number;
    readonly threadWakeups: number;
  };
  readonly wasmToX86: number;
  readonly callsPerRequest: number;
  readonly userInstructionsPerCall: number;
  readonly model: RequestCost;
}

/** The model applied to a finished run. Returns null when the guest reported no counts. */
export function modelRun(result: GuestResult, profile: ResolvedProfile, requests: number): RunModel | null {
  const counted = readProbes(result.probes);
  if (!counted) return null;
  const s = result.stats;
  const byCall: Record<string, number> = {};
  for (const [name, c] of Object.entries(s.bySyscall)) byCall[name] = c.submitted;
  // WASI calls answered by the shim without a kernel call are not system calls; the ones that are
  // show up in bySyscall already.
  const calls = Object.values(byCall).reduce((a, b) => a + b, 0);
  const perRequest: Record<string, number> = {};
  for (const [name, n] of Object.entries(byCall)) perRequest[name] = n / requests;
  const userX86 = calls > 0 ? (counted.total * profile.wasmToX86) / calls : 0;
  const model = requestCost(profile, {
    callsPerRequest: perRequest,
    userInstructionsPerCall: userX86,
    meanBatch: s.mode === 'exceptionless' ? s.meanBatch : 1,
    wakeupsPerRequest: s.mode === 'exceptionless' ? s.wakeups.threadWakeups / requests : 0,
  });
  return {
    profile: profile.name,
    mode: s.mode,
    requests,
    counted: { wasmInstructions: counted.total, calls, byCall, intervals: counted.byKind, meanBatch: s.meanBatch, threadWakeups: s.wakeups.threadWakeups },
    wasmToX86: profile.wasmToX86,
    callsPerRequest: calls / requests,
    userInstructionsPerCall: userX86,
    model,
  };
}

export function runModelRows(m: RunModel): Row[] {
  const per = m.requests === 1 ? 'run' : 'request';
  const c = m.model;
  return [
    { quantity: `calls per ${per}`, sync: m.callsPerRequest, exceptionless: m.callsPerRequest },
    { quantity: 'user instructions per call (x86)', sync: m.userInstructionsPerCall, exceptionless: m.userInstructionsPerCall },
    { quantity: 'user IPC (modelled)', sync: c.sync.userIpc, exceptionless: c.exceptionless.userIpc },
    { quantity: 'kernel IPC (modelled)', sync: c.sync.kernelIpc, exceptionless: c.exceptionless.kernelIpc },
    { quantity: `user-core cycles per ${per}`, sync: c.sync.totalCycles, exceptionless: c.exceptionless.userCycles },
    { quantity: `kernel-core cycles per ${per}`, sync: null, exceptionless: c.exceptionless.kernelCycles },
    { quantity: `cycles per ${per}, all cores`, sync: c.sync.totalCycles, exceptionless: c.exceptionless.totalCycles },
    { quantity: `cycles per ${per}, busiest core`, sync: c.sync.totalCycles, exceptionless: c.exceptionless.criticalCycles },
  ];
}

export function formatRunModel(m: RunModel): string {
  const lines = [
    `flexvm model (${m.profile} profile) of this ${m.mode}-mode run: ${m.counted.wasmInstructions} Wasm instructions, ${m.counted.calls} system calls, ${m.requests} request${m.requests === 1 ? ' (give --model-requests N to divide by requests)' : 's'}`,
    `  ${m.wasmToX86} x86 instructions per Wasm instruction (the profile's calibrated ratio)`,
  ];
  if (m.mode === 'exceptionless') lines.push('  note: in exceptionless mode the count includes the library polling for completions; count in epoll mode for the work alone');
  if (m.model.estimatedCalls.length) lines.push(`  charged the per-call mean (no published row): ${m.model.estimatedCalls.join(', ')}`);
  let out = lines.join('\n') + '\n' + table(runModelRows(m)).replace(/^/gm, '  ').trimEnd();
  const kinds = Object.entries(m.counted.intervals).sort((a, b) => b[1].calls - a[1].calls);
  if (kinds.length) {
    // Exact per call type where every call passes through an import (sync and epoll modes).
    const rows: Row[] = kinds.map(([kind, k]) => ({
      call: kind,
      calls: k.calls,
      wasm_instructions_before: Math.round(k.instructionsBefore / k.calls),
      x86_equivalent: Math.round((k.instructionsBefore / k.calls) * m.wasmToX86),
    }));
    out += '\n  instructions between consecutive calls, by the call that ends the interval (mean):\n' + table(rows).replace(/^/gm, '    ').trimEnd();
  }
  return out;
}

export { loadProfile };
