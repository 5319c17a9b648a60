// What instruction counting (flexvm model's Binaryen instrumentation, host/model/count/) costs: the
// same work plain and counted, side by side in one run, configurations interleaved round by round,
// medians. Two workloads: pure computation (the calibration loops: the worst case, short runs between
// branches) and a server (the echo server in epoll mode on the virtual kernel, 8,000 messages).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import binaryen from 'binaryen';
import { VM } from '../../host/index.js';
import { instrumentWasm } from '../../host/model/count/instrument.js';
import { machineInfo, type MachineInfo } from '../lib/machine.js';
import { markdownTable, median, range } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';

const root = (rel: string): string => fileURLToPath(new URL(`../../../${rel}`, import.meta.url));

interface Workload {
  readonly id: string;
  readonly label: string;
  /** Milliseconds of one run, plain or counted. */
  run(counted: boolean, scale: number): Promise<number>;
}

function loopsWorkload(): Workload {
  const mod = binaryen.parseText(readFileSync(root('host/model/calibrate/native/loops.wat'), 'utf8'));
  const plain = mod.emitBinary();
  mod.dispose();
  const instances = [plain, instrumentWasm(plain)].map((b) => new WebAssembly.Instance(new WebAssembly.Module(b), {}));
  for (const i of instances) (i.exports['fill'] as () => void)();
  return {
    id: 'loops',
    label: 'computation (FNV hash + header scan over 4 KB, x200)',
    async run(counted, scale) {
      const kernels = instances[counted ? 1 : 0]!.exports['kernels'] as (n: number) => number;
      const n = Math.max(10, Math.round(200 * scale));
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) kernels(n);
      return (performance.now() - t0) / 10;
    },
  };
}

function echoWorkload(): Workload {
  const plain = readFileSync(root('examples/echo/server.wasm'));
  const counted = instrumentWasm(plain);
  const client = root('examples/echo/client.wasm');
  return {
    id: 'echo',
    label: 'echo server, epoll mode, virtual kernel (4 x 2,000 messages)',
    async run(isCounted, scale) {
      const vm = await VM.create({ kernel: 'virtual', syscallThreads: 1, mode: 'epoll' });
      try {
        const server = await vm.spawn(isCounted ? counted : plain, { name: 'server', args: ['--port', '7'], stderr: () => {} });
        const t0 = performance.now();
        const r = await vm.run(client, { args: ['--conns', '4', '--messages', String(Math.max(100, Math.round(2000 * scale)))], stderr: () => {} });
        const ms = performance.now() - t0;
        server.kill();
        await server.exited;
        if (r.status !== 0) throw new Error(`echo client failed: ${r.message ?? r.status}`);
        return ms;
      } finally {
        await vm.close();
      }
    },
  };
}

/** bench/results/instruction-counting.json. */
export interface CountingResults {
  suite: 'instruction-counting';
  date: string;
  machine: MachineInfo;
  rounds: number;
  scale: number;
  workloads: { id: string; label: string; plainMs: number[]; countedMs: number[]; medianPlainMs: number; medianCountedMs: number; slowdown: number }[];
}

async function measure(opts: { rounds: number; scale: number }): Promise<CountingResults> {
  const workloads = [loopsWorkload(), echoWorkload()];
  const samples = new Map(workloads.map((w) => [w.id, { plain: [] as number[], counted: [] as number[] }]));
  // Warm-up, both ways: V8 tiers a hot function up to TurboFan on its own schedule.
  for (const w of workloads) for (let i = 0; i < 3; i++) for (const counted of [false, true]) await w.run(counted, opts.scale);
  const progress = new Progress('instruction-counting', opts.rounds * workloads.length);
  for (let round = 0; round < opts.rounds; round++) {
    for (const w of workloads) {
      samples.get(w.id)!.plain.push(await w.run(false, opts.scale));
      samples.get(w.id)!.counted.push(await w.run(true, opts.scale));
      progress.tick(`round ${round + 1}, ${w.id}`);
    }
  }
  progress.stop();
  return {
    suite: 'instruction-counting',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    scale: opts.scale,
    workloads: workloads.map((w) => {
      const s = samples.get(w.id)!;
      const p = median(s.plain);
      const c = median(s.counted);
      return { id: w.id, label: w.label, plainMs: s.plain, countedMs: s.counted, medianPlainMs: p, medianCountedMs: c, slowdown: c / p };
    }),
  };
}

function render(r: CountingResults): Report {
  const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
  const rows = r.workloads.map((w) => {
    const [plo, phi] = range(w.plainMs);
    const [clo, chi] = range(w.countedMs);
    return [w.label, ms(w.medianPlainMs), `${ms(plo)} – ${ms(phi)}`, ms(w.medianCountedMs), `${ms(clo)} – ${ms(chi)}`, `${w.slowdown.toFixed(2)}×`];
  });
  const chart = lineChart({
    x: { label: 'workload', ticks: r.workloads.map((w) => w.id) },
    y: { label: 'median time, counted / plain (slowdown)', format: (v) => `${v.toFixed(2)}×` },
    series: [
      { label: 'counted / plain', values: r.workloads.map((w) => w.slowdown) },
      { label: 'plain (1.00×, for reference)', values: r.workloads.map(() => 1) },
    ],
    height: 8,
  });
  const { machine } = r;
  const charts = [
    barChart({ id: 'slowdown', title: 'Instruction counting: counted / plain time (median)', axis: 'slowdown', format: '.2f', axisFormat: '.1f', bars: r.workloads.map((w) => ({ label: w.label, value: w.slowdown })) }),
  ];
  const markdown = [
    `# Instruction counting: ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}. ${r.rounds} rounds, plain and counted interleaved, medians.`,
    '',
    markdownTable(['workload', 'plain (median)', 'plain range', 'counted (median)', 'counted range', 'slowdown'], rows),
    '',
    ...plotSection('instruction-counting', chart),
    '',
    ...chartSection('instruction-counting', charts),
    'Command: `npm run bench -- instruction-counting`',
  ].join('\n');
  return { markdown, plot: chart, charts };
}

export const instructionCounting: Suite<CountingResults> = { measure, render };
