// What a guest ringing its doorbell in a tight loop costs (issue 8, defect 8): the host's CPU and a
// co-guest's latency. A victim guest makes getpid calls one at a time (bench/guests/getpid.wasm,
// batches of 1: every call is a round trip through a syscall thread, the latency a request-response
// server sees) while, in the same VM, a flooder (bench/guests/doorbell-flood.wasm) rings the
// doorbells of its syscall threads as fast as it can, without posting anything. Each configuration
// runs with and without the flooder, interleaved round by round; figures are medians. CPU is the
// whole process's (every thread: guests, syscall threads, the main thread) per second of the
// victim's run, so 2.0 means two cores busy.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { VM } from '../../host/index.js';
import { machineInfo, type MachineInfo } from '../lib/machine.js';
import { formatNs, markdownTable, median, range } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';
import { runGetpid } from '../lib/getpid-guest.js';
const FLOODER = fileURLToPath(new URL('../../../bench/guests/doorbell-flood.wasm', import.meta.url));

interface Config {
  readonly id: string;
  readonly label: string;
  readonly kernel: 'os' | 'native';
  readonly threads: number;
}

const CONFIGS: readonly Config[] = [
  { id: 'os-1', label: 'os kernel (JavaScript syscall threads), 1 syscall thread', kernel: 'os', threads: 1 },
  { id: 'os-2', label: 'os kernel (JavaScript syscall threads), 2 syscall threads', kernel: 'os', threads: 2 },
  { id: 'native-1', label: 'native kernel (C++ syscall threads), 1 syscall thread', kernel: 'native', threads: 1 },
  { id: 'native-2', label: 'native kernel (C++ syscall threads), 2 syscall threads', kernel: 'native', threads: 2 },
];

interface Sample {
  /** The victim's time per getpid. */
  readonly ns: number;
  /** Process CPU (user + system) per second of the victim's run. */
  readonly cores: number;
  /** Flooder rounds (every thread's doorbell rung) per second; 0 without it. */
  readonly ringsPerS: number;
}

/** bench/results/doorbell-flood.json. */
export interface DoorbellFloodResults {
  suite: 'doorbell-flood';
  date: string;
  machine: MachineInfo;
  rounds: number;
  calls: number;
  configurations: (Config & {
    quiet: Sample[];
    flooded: Sample[];
    medians: { quietNs: number; floodedNs: number; quietCores: number; floodedCores: number; ringsPerS: number };
  })[];
}

/** The victim's time per call by its own clock (both kernels here have a real one), and the process's CPU over it. */
async function victim(vm: VM, calls: number): Promise<{ ns: number; cores: number }> {
  const run = await runGetpid(vm, { calls, batch: 1, warmup: Math.min(calls, 5000) });
  return { ns: run.guestNsPerCall, cores: run.cpuMs / run.hostMs };
}

async function once(c: Config, flood: boolean, calls: number): Promise<Sample> {
  const vm = await VM.create({ kernel: c.kernel, syscallThreads: c.threads });
  try {
    if (!flood) return { ...(await victim(vm, calls)), ringsPerS: 0 };
    let out = '';
    const flooder = await vm.spawn(FLOODER, { stdout: (d) => void (out += Buffer.from(d).toString()) });
    await flooder.ready;
    const began = performance.now();
    const v = await victim(vm, calls);
    flooder.kill();
    const r = await flooder.exited;
    // The native kernel's standard output is a pipe the host reads on its own: its last line may come after the exit.
    for (let i = 0; i < 50 && !/rings \d+\n/.test(out); i++) await new Promise((res) => setTimeout(res, 10));
    const rings = Number(/rings (\d+)/.exec(out)?.[1] ?? NaN);
    if (r.status !== 0 && r.status !== 130) throw new Error(`flooder ended with ${r.status}: ${out}`);
    // (Its count is missing now and then on native, whose last output may be lost at a forced stop: NaN, left out of the median.)
    return { ...v, ringsPerS: rings / ((performance.now() - began) / 1000) };
  } finally {
    await vm.close();
  }
}

async function measureAll(opts: { rounds: number; scale: number }): Promise<DoorbellFloodResults> {
  const calls = Math.max(2000, Math.round(20_000 * opts.scale));
  const quiet = new Map<string, Sample[]>(CONFIGS.map((c) => [c.id, []]));
  const flooded = new Map<string, Sample[]>(CONFIGS.map((c) => [c.id, []]));
  const progress = new Progress('doorbell-flood', opts.rounds * CONFIGS.length * 2);
  for (let round = 0; round < opts.rounds; round++) {
    for (const c of CONFIGS) {
      quiet.get(c.id)!.push(await once(c, false, calls));
      progress.tick(`round ${round + 1}, ${c.id}, quiet`);
      flooded.get(c.id)!.push(await once(c, true, calls));
      progress.tick(`round ${round + 1}, ${c.id}, flooded`);
    }
  }
  progress.stop();
  return {
    suite: 'doorbell-flood',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    calls,
    configurations: CONFIGS.map((c) => {
      const q = quiet.get(c.id)!;
      const f = flooded.get(c.id)!;
      return {
        ...c,
        quiet: q,
        flooded: f,
        medians: {
          quietNs: median(q.map((s) => s.ns)),
          floodedNs: median(f.map((s) => s.ns)),
          quietCores: median(q.map((s) => s.cores)),
          floodedCores: median(f.map((s) => s.cores)),
          ringsPerS: median(f.map((s) => s.ringsPerS).filter(Number.isFinite)),
        },
      };
    }),
  };
}

function render(r: DoorbellFloodResults): Report {
  const rows = r.configurations.map((c) => {
    const m = c.medians;
    const [lo, hi] = range(c.flooded.map((s) => s.ns));
    return [
      c.label,
      formatNs(m.quietNs),
      `${formatNs(m.floodedNs)} (${formatNs(lo)} – ${formatNs(hi)})`,
      `${(m.floodedNs / m.quietNs).toFixed(2)}×`,
      m.quietCores.toFixed(2),
      m.floodedCores.toFixed(2),
      Number.isFinite(m.ringsPerS) ? Math.round(m.ringsPerS).toLocaleString('en-US') : 'n/a',
    ];
  });
  const table = markdownTable(
    ['configuration', 'victim getpid, alone', 'with a flooder (range)', 'slowdown', 'CPU cores busy, alone', 'with a flooder', 'flooder rings/s (all threads)'],
    rows,
  );
  const chart = lineChart({
    x: { label: 'configuration', ticks: r.configurations.map((c) => c.id) },
    y: { label: 'victim time per getpid (median)', format: formatNs },
    series: [
      { label: 'alone', values: r.configurations.map((c) => c.medians.quietNs) },
      { label: 'beside a guest ringing its doorbells in a tight loop', values: r.configurations.map((c) => c.medians.floodedNs) },
    ],
  });
  const charts = [
    barChart({
      id: 'latency',
      title: 'A co-guest\'s getpid round trip, alone and beside a doorbell flood (median)',
      axis: 'ns per call',
      format: ',.0f',
      axisFormat: ',.0f',
      bars: r.configurations.flatMap((c) => [
        { label: `${c.id} alone`, value: c.medians.quietNs, group: c.kernel },
        { label: `${c.id} flooded`, value: c.medians.floodedNs, group: c.kernel },
      ]),
    }),
  ];
  const { machine } = r;
  const markdown = [
    `# Doorbell flood: ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}. ${r.rounds} rounds, ${r.calls.toLocaleString('en-US')} calls per victim run, medians.`,
    '',
    'A victim guest makes getpid calls one at a time (exception-less, batches of 1) while another guest in the',
    'same VM rings the doorbells of its syscall threads in a tight loop, posting nothing. CPU is the whole',
    'process\'s, per second of the victim\'s run.',
    '',
    table,
    '',
    ...plotSection('doorbell-flood', chart),
    '',
    ...chartSection('doorbell-flood', charts),
    'Command: `npm run bench -- doorbell-flood`',
  ].join('\n');
  return { markdown, plot: chart, charts };
}

export const doorbellFlood: Suite<DoorbellFloodResults> = { measure: measureAll, render };
