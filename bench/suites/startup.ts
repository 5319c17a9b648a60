// Start-up: the wall time of `flexvm run` for a guest that exits at once (tests/guests/exit.wasm),
// as a user runs it (node dist/cli.js, a fresh process each time), beside plain `node -e ''` (the
// floor: Node's own start-up) and a C hello world under node:wasi (what the issue compares with),
// and the same hello world under flexvm (standard error to a file, as at a terminal: a socket there
// keeps the guest on a worker). On the native kernel the CLI runs the guest on its main
// thread and compiles it with Liftoff (docs/startup.md); the rows with FLEXVM_GUEST_THREAD=worker
// and FLEXVM_LIFTOFF=0 take each of those back, the last both (the CLI before them). Where the time
// goes is measured inside one process with the phases timed, through the embedding API (a guest on
// a worker, TurboFan only): importing the bundle, VM.create (syscall threads started, the first
// guest's worker started ahead), compiling the guest, spawn to exit (guest worker, instantiation,
// run), close. Interleaved rounds: each round runs every command once, so a loaded machine slows
// them alike; each command's ratio to `node -e ''` is taken within its round, and the report gives
// the median ratio (the figure to compare across runs) beside the median times and the load average.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { machineInfo, type MachineInfo } from '../lib/machine.js';
import { formatNs, markdownTable, median } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;
const GUEST = `${ROOT}tests/guests/exit.wasm`;
const HELLO_C = `${ROOT}bench/guests/wasi/hello.c`;
const HELLO = `${ROOT}build/bench/wasi/hello.wasm`;
const NATIVE = typeof loadNativeAddon() !== 'string';

/** The C hello world for node:wasi and flexvm (clang --target=wasm32-wasi), or null without the toolchain. */
function helloWasm(): string | null {
  if (existsSync(HELLO) && statSync(HELLO).mtimeMs >= statSync(HELLO_C).mtimeMs) return HELLO;
  mkdirSync(`${ROOT}build/bench/wasi`, { recursive: true });
  const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', HELLO_C, '-o', HELLO], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`startup: no C hello world (clang, lld, wasi-libc and libclang-rt-dev-wasm32 are needed): ${r.stderr || r.error}\n`);
    return null;
  }
  return HELLO;
}

/** node:wasi running a preview 1 program, as a user would (a fresh process). */
const NODE_WASI = (wasm: string): string => `
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
const wasi = new WASI({ version: 'preview1', args: ['hello'] });
const mod = await WebAssembly.compile(readFileSync(${JSON.stringify(wasm)}));
const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
process.exitCode = wasi.start(inst);
`;

interface Row {
  readonly id: string;
  readonly label: string;
  ms: number[];
  medianMs: number;
  /** Per round, this command's time over `node -e ''`'s (runs only). */
  ratios?: number[];
  medianRatio?: number;
}

/** bench/results/startup.json. */
export interface StartupResults {
  suite: 'startup';
  date: string;
  machine: MachineInfo;
  rounds: number;
  /** The 1-minute load average before and after the runs. */
  load: [number, number];
  runs: Row[];
  phases: Row[];
}

/** Where children write their standard error: a file, as a terminal would be (a socket there keeps the guest on a worker). */
const STDERR = join(tmpdir(), `flexvm-bench-startup-${process.pid}.err`);

/** Wall time of a child process, in ms. */
function timeChild(args: string[], env: Record<string, string> = {}): number {
  const err = openSync(STDERR, 'w');
  try {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', err], timeout: 60_000, env: { ...process.env, ...env } });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${args.join(' ')}: status ${r.status}: ${readFileSync(STDERR, 'utf8')}`);
    return ms;
  } finally {
    closeSync(err);
  }
}

/** The phases of one `flexvm run` on KERNEL, timed inside a fresh process (printed as JSON by the child). */
const PHASES_SCRIPT = (kernel: string): string => `
const t0 = performance.now();
const { VM } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
const t1 = performance.now();
const vm = await VM.create({ kernel: '${kernel}' });
const t2 = performance.now();
const bytes = (await import('node:fs')).readFileSync(${JSON.stringify(GUEST)});
const mod = await WebAssembly.compile(bytes);
const t3 = performance.now();
const r = await vm.run(${JSON.stringify(GUEST)}, { stdout: () => {} });
const t4 = performance.now();
await vm.close();
const t5 = performance.now();
process.stdout.write(JSON.stringify({ import: t1 - t0, create: t2 - t1, compile: t3 - t2, run: t4 - t3, close: t5 - t4, status: r.status }));
`;

function phases(kernel: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PHASES_SCRIPT(kernel)], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`phases: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

function runs(hello: string | null): { id: string; label: string; args: string[]; env?: Record<string, string> }[] {
  const kernel = NATIVE ? 'native' : 'os, the native addon is not built';
  return [
    { id: 'node', label: "`node -e ''` (Node's own start-up, the floor)", args: ['-e', ''] },
    ...(hello ? [{ id: 'node-wasi-hello', label: '`node:wasi` running a C hello world', args: ['--no-warnings', '--input-type=module', '-e', NODE_WASI(hello)] }] : []),
    { id: 'flexvm-run', label: `\`flexvm run exit.wasm\` (the default kernel: ${kernel}; the guest on the main thread, Liftoff)`, args: [CLI, 'run', GUEST] },
    ...(NATIVE
      ? [
          { id: 'flexvm-run-turbofan', label: '`flexvm run exit.wasm`, TurboFan only (`FLEXVM_LIFTOFF=0`)', args: [CLI, 'run', GUEST], env: { FLEXVM_LIFTOFF: '0' } },
          { id: 'flexvm-run-worker', label: '`flexvm run exit.wasm`, the guest on a worker (`FLEXVM_GUEST_THREAD=worker`)', args: [CLI, 'run', GUEST], env: { FLEXVM_GUEST_THREAD: 'worker' } },
          { id: 'flexvm-run-before', label: '`flexvm run exit.wasm` on a worker, TurboFan only (both: the CLI before this path)', args: [CLI, 'run', GUEST], env: { FLEXVM_GUEST_THREAD: 'worker', FLEXVM_LIFTOFF: '0' } },
        ]
      : []),
    { id: 'flexvm-run-os', label: '`flexvm run --kernel os exit.wasm`', args: [CLI, 'run', '--kernel', 'os', GUEST] },
    { id: 'flexvm-run-virtual', label: '`flexvm run --kernel virtual exit.wasm`', args: [CLI, 'run', '--kernel', 'virtual', GUEST] },
    ...(hello ? [{ id: 'flexvm-run-hello', label: '`flexvm run hello.wasm` (the C hello world, default kernel)', args: [CLI, 'run', hello] }] : []),
  ];
}
const PHASES: readonly { id: string; label: string }[] = [
  { id: 'import', label: 'import the bundle (dist/index.js)' },
  { id: 'create', label: 'VM.create: load the kernel, start the syscall threads (and the first guest worker, ahead)' },
  { id: 'compile', label: 'compile the guest (TurboFan only: Liftoff is off)' },
  { id: 'run', label: 'spawn to exit: guest worker ready, instantiate, run' },
  { id: 'close', label: 'vm.close' },
];
const PHASE_KERNELS: readonly string[] = NATIVE ? ['native', 'os'] : ['os'];

async function measure(opts: { rounds: number; scale: number }): Promise<StartupResults> {
  readFileSync(GUEST); // fail early when the guests are not built
  const commands = runs(helloWasm());
  const rows: Row[] = commands.map((r) => ({ id: r.id, label: r.label, ms: [], medianMs: 0, ratios: [], medianRatio: 0 }));
  const loadBefore = loadavg()[0]!;
  const ph: Row[] = PHASE_KERNELS.flatMap((k) => PHASES.map((p) => ({ id: `${k}:${p.id}`, label: `${k}: ${p.label}`, ms: [], medianMs: 0 })));
  const perRound = Math.max(1, Math.round(5 * opts.scale));
  const progress = new Progress('startup', opts.rounds * perRound);
  for (let round = 0; round < opts.rounds; round++) {
    for (let i = 0; i < perRound; i++) {
      commands.forEach((r, k) => rows[k]!.ms.push(timeChild(r.args, r.env)));
      const floor = rows[0]!.ms.at(-1)!;
      for (const row of rows) row.ratios!.push(row.ms.at(-1)! / floor);
      for (const kernel of PHASE_KERNELS) {
        const p = phases(kernel);
        for (const row of ph) if (row.id.startsWith(`${kernel}:`)) row.ms.push(p[row.id.slice(kernel.length + 1)]!);
      }
      progress.tick(`round ${round + 1}`);
    }
  }
  progress.stop();
  rmSync(STDERR, { force: true });
  for (const row of [...rows, ...ph]) row.medianMs = median(row.ms);
  for (const row of rows) row.medianRatio = median(row.ratios!);
  return { suite: 'startup', date: new Date().toISOString(), machine: machineInfo(), rounds: opts.rounds * perRound, load: [loadBefore, loadavg()[0]!], runs: rows, phases: ph };
}

function bar(ms: number, max: number): string {
  return '#'.repeat(Math.max(1, Math.round((ms / max) * 50)));
}

function render(r: StartupResults): Report {
  const fmt = (ms: number): string => formatNs(ms * 1e6);
  const max = Math.max(...r.runs.map((x) => x.medianMs));
  const node = r.runs.find((x) => x.id === 'node')?.medianMs ?? 1;
  const plot = r.runs.map((x) => `${x.id.padEnd(20)} ${bar(x.medianMs, max)} ${fmt(x.medianMs)}`).join('\n');
  const charts = [
    barChart({ id: 'wall', title: 'Start-up wall time (median of fresh processes)', axis: 'ms', format: ',.0f', axisFormat: ',.0f', bars: r.runs.map((x) => ({ label: x.label.replace(/`/g, ''), value: x.medianMs })) }),
  ];
  const markdown = [
    '# Start-up: `flexvm run` of a guest that exits at once',
    '',
    `${r.date}: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; ${r.rounds} interleaved rounds, fresh processes${r.load ? `; load average ${r.load[0].toFixed(2)} before, ${r.load[1].toFixed(2)} after` : ''}.`,
    '',
    "The ratio is each command's time over `node -e ''`'s in the same round, then the median over rounds (what a loaded machine leaves comparable).",
    '',
    markdownTable(['command', "vs `node -e ''` (median of per-round ratios)", 'median wall time', 'range'], r.runs.map((x) => [x.label, `${(x.medianRatio ?? x.medianMs / node).toFixed(2)}×`, fmt(x.medianMs), `${fmt(Math.min(...x.ms))} – ${fmt(Math.max(...x.ms))}`])),
    '',
    "Each round's ratios to `node -e ''`:",
    '',
    markdownTable(['command', ...(r.runs[0]?.ratios ?? []).map((_, i) => `${i + 1}`)], r.runs.filter((x) => x.id !== 'node').map((x) => [x.id, ...(x.ratios ?? []).map((v) => v.toFixed(2))])),
    '',
    'Where the time goes, inside one process (the embedding API: the guest on a worker, TurboFan only):',
    '',
    markdownTable(['phase', 'median'], r.phases.map((x) => [x.label, fmt(x.medianMs)])),
    '',
    ...plotSection('startup', plot),
    '',
    ...chartSection('startup', charts),
    'Command: `npm run bench -- startup`',
  ].join('\n');
  return { markdown, plot, charts };
}

export const startup: Suite<StartupResults> = { measure, render };
