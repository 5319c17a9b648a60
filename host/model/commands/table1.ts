// `flexvm model table1`: the event-driven paper's Table 1 (memcached and nginx on the Core i7, epoll)
// beside flexvm's own server guests, counted in epoll mode, with the model's IPC for each.
import { join } from 'node:path';
import { readCsv } from '../data/csv.js';
import { paperDataDir } from '../paths.js';
import { figure1Point } from '../core/figure1.js';
import { requestCost } from '../core/costs.js';
import { solveIncreasing } from '../core/fit.js';
import { loadProfile, type ResolvedProfile } from '../profiles/profile.js';
import { csv, table, type Row } from '../output/format.js';
import { modelRun } from './run-report.js';
import { availableServerGuests } from './guests.js';
import { parseModelOptions } from './options.js';

export interface PaperRow {
  readonly server: string;
  readonly workload: string;
  readonly callsPerRequest: number;
  readonly userInstructionsPerCall: number;
  readonly userIpc: number;
  readonly kernelInstructionsPerCall: number;
  readonly kernelIpc: number;
}

export function paperTable1(): PaperRow[] {
  return readCsv(join(paperDataDir(), 'atc11-table1.csv')).map((r) => ({
    server: r['server']!,
    workload: r['workload']!,
    callsPerRequest: Number(r['syscalls_per_request']),
    userInstructionsPerCall: Number(r['user_instr_per_syscall']),
    userIpc: Number(r['user_ipc']),
    kernelInstructionsPerCall: Number(r['kernel_instr_per_syscall']),
    kernelIpc: Number(r['kernel_ipc']),
  }));
}

/**
 * The model's user IPC at `u` instructions per call (a pwrite-like call after every interval), and
 * the baseline IPC the workload would need for the model to give the published IPC exactly.
 */
export function modelledUserIpc(p: ResolvedProfile, u: number, baseline = p.curve.baselineIpc): number {
  return figure1Point({ ...p.curve, baselineIpc: baseline }, p.modeSwitchCycles, u).ipc;
}

export function impliedBaseline(p: ResolvedProfile, u: number, ipc: number): number {
  return solveIncreasing((b) => modelledUserIpc(p, u, b), ipc, 0.01, 4);
}

export function paperRows(p: ResolvedProfile): Row[] {
  return paperTable1().map((r) => ({
    source: 'ATC 2011 Table 1',
    server: r.server,
    workload: r.workload,
    calls_per_request: r.callsPerRequest,
    user_instr_per_call: r.userInstructionsPerCall,
    user_ipc_published: r.userIpc,
    user_ipc_model: modelledUserIpc(p, r.userInstructionsPerCall),
    implied_baseline_ipc: impliedBaseline(p, r.userInstructionsPerCall, r.userIpc),
    kernel_instr_per_call: r.kernelInstructionsPerCall,
    kernel_ipc_published: r.kernelIpc,
    kernel_ipc_model: null,
    sync_cycles_per_request: null,
    exceptionless_cycles_per_request: null,
  }));
}

const COLUMNS = [
  'source', 'server', 'calls_per_request', 'user_instr_per_call', 'user_ipc_published', 'user_ipc_model', 'implied_baseline_ipc',
  'kernel_instr_per_call', 'kernel_ipc_published', 'kernel_ipc_model', 'sync_cycles_per_request', 'exceptionless_cycles_per_request',
];

export async function table1Command(argv: readonly string[]): Promise<number> {
  const o = parseModelOptions(argv, { requests: { type: 'string' }, 'paper-only': { type: 'boolean' } });
  const profile = loadProfile(o.profiles[0] ?? 'nehalem');
  const requests = o.values['requests'] ? Number(o.values['requests']) : 400;
  const rows = paperRows(profile);
  const counted = [];
  if (!o.values['paper-only']) {
    for (const g of availableServerGuests()) {
      const c = await g.run(requests);
      const m = modelRun(c.result, profile, c.requests);
      if (!m) throw new Error(`${g.server} reported no counts`);
      counted.push(m);
      const cost = requestCost(profile, {
        callsPerRequest: Object.fromEntries(Object.entries(m.counted.byCall).map(([k, n]) => [k, n / c.requests])),
        userInstructionsPerCall: m.userInstructionsPerCall,
        meanBatch: 1,
        wakeupsPerRequest: 0,
      });
      rows.push({
        source: `counted, ${profile.name} model`,
        server: g.server,
        workload: g.workload,
        calls_per_request: m.callsPerRequest,
        user_instr_per_call: m.userInstructionsPerCall,
        user_ipc_published: null,
        user_ipc_model: cost.sync.userIpc,
        implied_baseline_ipc: null,
        kernel_instr_per_call: cost.calls ? cost.kernelInstructions / cost.calls : 0,
        kernel_ipc_published: null,
        kernel_ipc_model: cost.sync.kernelIpc,
        sync_cycles_per_request: cost.sync.totalCycles,
        exceptionless_cycles_per_request: cost.exceptionless.criticalCycles,
      });
    }
  }
  if (o.format === 'json') process.stdout.write(JSON.stringify({ profile: profile.name, rows, counted }, null, 2) + '\n');
  else if (o.format === 'csv') process.stdout.write(csv(rows, COLUMNS));
  else {
    process.stdout.write(`Table 1 of the event-driven paper beside flexvm's guests (model: ${profile.name}; guests counted in epoll mode, ${profile.wasmToX86} x86 instructions per Wasm instruction)\n\n`);
    process.stdout.write(table(rows, COLUMNS));
  }
  return 0;
}
