// An unmodified, system-call-heavy WASI program (bench/guests/wasi/syscalls.c: small file writes and
// reads, a directory walk, short lines to standard error) under node:wasi, under jco with
// preview2-shim (the program made a preview 2 component with jco's `new` and its preview 1 adapter)
// and under flexvm: the preview 1 module sync and exception-less with 1 and 2 syscall threads, and
// the component exception-less, on each kernel; side by side in interleaved rounds, medians. The
// program is built with Debian's clang and wasi-libc at run time (never committed). Calls per
// second count the program's WASI calls (counted under node:wasi, where every import is wrapped;
// the same program makes the same calls everywhere; a component makes them through the adapter).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { VM, type Mode } from '../../host/index.js';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { machineInfo, type MachineInfo } from '../lib/machine.js';
import { formatNs, markdownTable, median } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = join(ROOT, 'bench/guests/wasi/syscalls.c');
const NODE_WASI = fileURLToPath(new URL('../tools/node-wasi-run.js', import.meta.url));
const JCO_PREVIEW2 = fileURLToPath(new URL('../tools/jco-preview2-run.js', import.meta.url));

type Kernel = 'virtual' | 'os' | 'native';

interface Config {
  readonly id: string;
  readonly label: string;
  /** null: a peer (node:wasi, or jco with preview2-shim when `component`). */
  readonly kernel: Kernel | null;
  readonly mode: Mode | null;
  readonly threads: number;
  /** Runs the preview 2 component instead of the preview 1 module. */
  readonly component: boolean;
}

function configs(): Config[] {
  const kernels: Kernel[] = ['os', 'virtual'];
  if (typeof loadNativeAddon() !== 'string') kernels.push('native');
  return [
    { id: 'node-wasi', label: 'node:wasi (baseline)', kernel: null, mode: null, threads: 0, component: false },
    { id: 'jco-preview2', label: 'jco + preview2-shim (component)', kernel: null, mode: null, threads: 0, component: true },
    ...kernels.flatMap((kernel): Config[] => [
      { id: `${kernel}-sync-1`, label: `flexvm, ${kernel} kernel, sync, 1 syscall thread`, kernel, mode: 'sync', threads: 1, component: false },
      { id: `${kernel}-exceptionless-1`, label: `flexvm, ${kernel} kernel, exceptionless, 1 syscall thread`, kernel, mode: 'exceptionless', threads: 1, component: false },
      { id: `${kernel}-exceptionless-2`, label: `flexvm, ${kernel} kernel, exceptionless, 2 syscall threads`, kernel, mode: 'exceptionless', threads: 2, component: false },
      { id: `${kernel}-component-exceptionless-1`, label: `flexvm, ${kernel} kernel, component, exceptionless, 1 syscall thread`, kernel, mode: 'exceptionless', threads: 1, component: true },
    ]),
  ];
}

export interface WasiResults {
  suite: 'wasi';
  date: string;
  machine: MachineInfo;
  rounds: number;
  args: string[];
  /** WASI calls the program makes in one run (counted under node:wasi). */
  calls: number;
  configurations: (Config & { ms: number[]; medianMs: number })[];
}

/** The program as a preview 1 module (clang) and as a preview 2 command component (jco new + adapter). */
async function build(): Promise<{ wasm: string; component: string }> {
  const out = join(ROOT, 'build/bench/wasi');
  mkdirSync(out, { recursive: true });
  const wasm = join(out, 'syscalls.wasm');
  const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', SOURCE, '-o', wasm], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wasi bench: cannot build ${SOURCE} (clang, lld, wasi-libc and libclang-rt-dev-wasm32 are needed): ${r.stderr || r.error}`);
  const { componentNew, preview1AdapterCommandPath } = await import('@bytecodealliance/jco');
  const component = join(out, 'syscalls.component.wasm');
  writeFileSync(component, await componentNew(readFileSync(wasm), [['wasi_snapshot_preview1', readFileSync(preview1AdapterCommandPath())]]));
  return { wasm, component };
}

/** One flexvm run: from the program's "start" line to its "end" line, as they reach the host. */
async function measureFlexvm(vm: VM, wasm: string, dir: string, args: string[]): Promise<number> {
  let start = 0;
  let end = 0;
  let text = '';
  const r = await vm.run(wasm, {
    args,
    dirs: [`${dir}::/data`],
    stdout: (d) => {
      const now = performance.now();
      text += Buffer.from(d).toString();
      if (!start && text.includes('start')) start = now;
      if (!end && text.includes('end')) end = now;
    },
    stderr: () => {},
  });
  if (r.status !== 0 || !start || !end) throw new Error(`flexvm run failed (${r.status}: ${r.message ?? ''})`);
  return end - start;
}

function measureNode(wasm: string, dir: string, args: string[]): { ms: number; calls: number } {
  const r = spawnSync(process.execPath, ['--no-warnings', NODE_WASI, wasm, dir, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`node:wasi run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as { ms: number; calls: number };
}

/** jco with preview2-shim, in its own process: the time of the component's `run` (transpiling is not timed). */
function measureJco(component: string, dir: string, args: string[]): number {
  const r = spawnSync(process.execPath, ['--no-warnings', JCO_PREVIEW2, '--measure', component, dir, '/data', ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`jco + preview2-shim run failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number }).ms;
}

async function measure(opts: { rounds: number; scale: number }): Promise<WasiResults> {
  const CONFIGS = configs();
  const { wasm, component } = await build();
  const args = [String(Math.max(20, Math.round(100 * opts.scale))), String(Math.max(200, Math.round(2000 * opts.scale))), '2'];
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-wasi-bench-'));
  const vms = new Map<string, VM>();
  const samples = new Map<string, number[]>(CONFIGS.map((c) => [c.id, []]));
  let calls = 0;
  try {
    for (const c of CONFIGS) if (c.kernel) vms.set(c.id, await VM.create({ kernel: c.kernel, syscallThreads: c.threads, mode: c.mode! }));
    const progress = new Progress('wasi', opts.rounds * CONFIGS.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of CONFIGS) {
        if (c.kernel) samples.get(c.id)!.push(await measureFlexvm(vms.get(c.id)!, c.component ? component : wasm, dir, args));
        else if (c.component) samples.get(c.id)!.push(measureJco(component, dir, args));
        else {
          const n = measureNode(wasm, dir, args);
          calls = n.calls;
          samples.get(c.id)!.push(n.ms);
        }
        progress.tick(`round ${round + 1}, ${c.id}`);
      }
    }
    progress.stop();
  } finally {
    await Promise.all([...vms.values()].map((vm) => vm.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    suite: 'wasi',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    args,
    calls,
    configurations: CONFIGS.map((c) => ({ ...c, ms: samples.get(c.id)!, medianMs: median(samples.get(c.id)!) })),
  };
}

/** A plain-text horizontal bar chart, longest bar 50 characters. */
function bars(title: string, items: { label: string; value: number }[]): string {
  const max = Math.max(...items.map((i) => i.value));
  const width = Math.max(...items.map((i) => i.label.length));
  const lines = items.map((i) => `${i.label.padEnd(width)} | ${'#'.repeat(Math.max(1, Math.round((50 * i.value) / max)))} ${Math.round(i.value).toLocaleString('en-US')}`);
  return [title, '', ...lines].join('\n');
}

function render(r: WasiResults): Report {
  const base = r.configurations.find((c) => c.id === 'node-wasi');
  if (!base) throw new Error('wasi: results lack the node:wasi baseline');
  const rows = r.configurations.map((c) => [
    c.label,
    `${c.medianMs.toFixed(1)} ms`,
    Math.round(r.calls / (c.medianMs / 1000)).toLocaleString('en-US'),
    formatNs((c.medianMs * 1e6) / r.calls),
    `${(base.medianMs / c.medianMs).toFixed(2)}×`,
  ]);
  const chart = bars('WASI calls per second (median)', r.configurations.map((c) => ({ label: c.label, value: r.calls / (c.medianMs / 1000) })));
  const { machine } = r;
  const charts = [
    barChart({ id: 'calls', title: 'WASI calls per second (median)', axis: 'calls per second', bars: r.configurations.map((c) => ({ label: c.label, value: r.calls / (c.medianMs / 1000) })) }),
  ];
  const markdown = [
    `# An unmodified WASI program's system calls: ${r.date.slice(0, 10)}`,
    '',
    `bench/guests/wasi/syscalls.c with arguments \`${r.args.join(' ')}\` (files, lines, rounds): ${r.calls.toLocaleString('en-US')} WASI calls per run, median of ${r.rounds} rounds. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}. The component rows run the same program made a preview 2 component (jco \`new\` with its preview 1 adapter): under jco with preview2-shim, and under flexvm.`,
    '',
    markdownTable(['runtime', 'wall time', 'WASI calls/s', 'per call', 'vs node:wasi'], rows),
    '',
    ...plotSection('wasi', chart),
    '',
    ...chartSection('wasi', charts),
    'Command: `npm run bench -- wasi`',
  ].join('\n');
  return { markdown, plot: chart , charts };
}

export const wasi: Suite<WasiResults> = { measure, render };
