// The cost of one null system call (getpid) as a guest sees it, every way flexvm can make it,
// measured side by side in one run: configurations are interleaved round by round so that the
// machine's noise hits all of them alike, and each figure is the median over the rounds.
import { VM, type Mode } from '../../host/index.js';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { machineInfo, onlyConfigs, type MachineInfo } from '../lib/machine.js';
import { formatNs, markdownTable, median, range } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';
import { runGetpid } from '../lib/getpid-guest.js';

interface Config {
  readonly id: string;
  readonly label: string;
  readonly mode: Mode;
  readonly batch: number;
  readonly calls: number;
  /** Hand-off spin before sleeping (sync mode), µs. */
  readonly syncSpinUs: number;
  /** The kernel: virtual (JavaScript syscall threads) unless native (native syscall threads). */
  readonly kernel?: 'native';
}

export interface NullSyscallOptions {
  rounds: number;
  /** Multiplies every configuration's call count (smaller for a quick run). */
  scale: number;
}

/** bench/results/null-syscall.json. */
export interface NullSyscallResults {
  suite: 'null-syscall';
  date: string;
  machine: MachineInfo;
  rounds: number;
  scale: number;
  configurations: (Config & { nsPerCall: number[]; medianNs: number })[];
  ratios: Record<string, { vsHandoffSpin: number; vsHandoffSleep: number }>;
}

// The virtual kernel's rows always run (the ratios are to its hand-offs); the native rows run where
// the addon loads, and FLEXVM_BENCH_ONLY picks among them.
const CONFIGS: readonly Config[] = [
  { id: 'direct', label: 'direct import (epoll mode: the kernel runs on the guest\'s thread)', mode: 'epoll', batch: 1, calls: 400_000, syncSpinUs: 0 },
  { id: 'sync-spin', label: 'synchronous hand-off to a syscall thread (spin 20 µs, then sleep)', mode: 'sync', batch: 1, calls: 100_000, syncSpinUs: 20 },
  { id: 'sync-sleep', label: 'synchronous hand-off to a syscall thread (sleep at once)', mode: 'sync', batch: 1, calls: 10_000, syncSpinUs: 0 },
  { id: 'batch-1', label: 'exception-less, batches of 1', mode: 'exceptionless', batch: 1, calls: 100_000, syncSpinUs: 0 },
  { id: 'batch-8', label: 'exception-less, batches of 8', mode: 'exceptionless', batch: 8, calls: 400_000, syncSpinUs: 0 },
  { id: 'batch-64', label: 'exception-less, batches of 64', mode: 'exceptionless', batch: 64, calls: 1_000_000, syncSpinUs: 0 },
  { id: 'batch-256', label: 'exception-less, batches of 256', mode: 'exceptionless', batch: 256, calls: 1_000_000, syncSpinUs: 0 },
  // The native kernel: the call is claimed and answered by a native syscall thread (or, in epoll
  // mode, by the guest's own thread through the addon). Like the virtual kernel, it answers the
  // guest's own pid without a host system call: this measures the path of a call, not Linux's getpid
  // (a real syscall(SYS_getpid) costs about 950 ns on the 2-vCPU Firecracker machine, with mitigations).
  ...(typeof loadNativeAddon() === 'string' ? [] : onlyConfigs<Config>([
  { id: 'native-direct', label: 'native kernel: direct import into the addon (epoll mode)', mode: 'epoll', batch: 1, calls: 400_000, syncSpinUs: 0, kernel: 'native' },
  { id: 'native-sync-spin', label: 'native kernel: synchronous hand-off (spin 20 µs, then sleep)', mode: 'sync', batch: 1, calls: 100_000, syncSpinUs: 20, kernel: 'native' },
  { id: 'native-batch-1', label: 'native kernel: exception-less, batches of 1', mode: 'exceptionless', batch: 1, calls: 100_000, syncSpinUs: 0, kernel: 'native' },
  { id: 'native-batch-8', label: 'native kernel: exception-less, batches of 8', mode: 'exceptionless', batch: 8, calls: 400_000, syncSpinUs: 0, kernel: 'native' },
  { id: 'native-batch-64', label: 'native kernel: exception-less, batches of 64', mode: 'exceptionless', batch: 64, calls: 1_000_000, syncSpinUs: 0, kernel: 'native' },
  { id: 'native-batch-256', label: 'native kernel: exception-less, batches of 256', mode: 'exceptionless', batch: 256, calls: 1_000_000, syncSpinUs: 0, kernel: 'native' },
  ])),
];

/**
 * Runs the guest once and returns ns per call. On the native kernel the guest's own monotonic
 * clock times it (the host's sight of its output lines adds the main thread's scheduling delay:
 * ±20% on a loaded 2-core machine at 200k calls); the virtual kernel's clock is simulated, so there
 * the host's view between the lines is the measure (its jitter shrinks with the call count).
 */
async function measure(vm: VM, c: Config, calls: number): Promise<number> {
  const run = await runGetpid(vm, { calls, batch: c.batch, warmup: Math.min(calls, 20_000), mode: c.mode });
  return c.kernel === 'native' ? run.guestNsPerCall : run.hostNsPerCall;
}

async function measureAll(opts: NullSyscallOptions): Promise<NullSyscallResults> {
  const vms = new Map<string, VM>();
  for (const c of CONFIGS) vms.set(c.id, await VM.create({ syscallThreads: 1, mode: c.mode, syncSpinUs: c.syncSpinUs, ...(c.kernel ? { kernel: c.kernel } : {}) }));
  const samples = new Map<string, number[]>(CONFIGS.map((c) => [c.id, []]));
  try {
    const progress = new Progress('null-syscall', opts.rounds * CONFIGS.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of CONFIGS) {
        const ns = await measure(vms.get(c.id)!, c, Math.max(1000, Math.round(c.calls * opts.scale)));
        samples.get(c.id)!.push(ns);
        progress.tick(`round ${round + 1}, ${c.id}`);
      }
    }
    progress.stop();
  } finally {
    await Promise.all([...vms.values()].map((vm) => vm.close()));
  }
  const medians = new Map(CONFIGS.map((c) => [c.id, median(samples.get(c.id)!)]));
  const handoff = medians.get('sync-spin')!;
  const handoffSleep = medians.get('sync-sleep')!;
  return {
    suite: 'null-syscall',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    scale: opts.scale,
    configurations: CONFIGS.map((c) => ({ ...c, nsPerCall: samples.get(c.id)!, medianNs: medians.get(c.id)! })),
    ratios: Object.fromEntries(CONFIGS.map((c) => [c.id, { vsHandoffSpin: handoff / medians.get(c.id)!, vsHandoffSleep: handoffSleep / medians.get(c.id)! }])),
  };
}

/** ns per call against batch size: exception-less varies with it; the others make one call at a time, drawn flat for reference. */
function plot(r: NullSyscallResults): string {
  const virt = r.configurations.filter((c) => !c.kernel);
  const batched = virt.filter((c) => c.mode === 'exceptionless').sort((a, b) => a.batch - b.batch);
  const nativeBatched = batched.map((b) => r.configurations.find((c) => c.kernel === 'native' && c.mode === 'exceptionless' && c.batch === b.batch));
  const single = r.configurations.filter((c) => c.mode !== 'exceptionless');
  return lineChart({
    x: { label: 'calls per exception-less batch (categories, not to scale)', ticks: batched.map((c) => String(c.batch)) },
    y: { label: 'median time per getpid, as the guest sees it (log scale)', format: formatNs, log: true },
    series: [
      { label: 'exception-less, by batch size', values: batched.map((c) => c.medianNs) },
      ...(nativeBatched.every((c) => c) ? [{ label: 'native kernel: exception-less, by batch size', values: nativeBatched.map((c) => c!.medianNs) }] : []),
      ...single.map((c) => ({ label: `${c.label}; one call at a time, drawn flat`, values: batched.map(() => c.medianNs) })),
    ],
  });
}

function render(r: NullSyscallResults): Report {
  const rows = r.configurations.map((c) => {
    const [lo, hi] = range(c.nsPerCall);
    const ratio = r.ratios[c.id]!;
    return [c.label, formatNs(c.medianNs), `${formatNs(lo)} – ${formatNs(hi)}`, `${ratio.vsHandoffSpin.toFixed(1)}×`, `${ratio.vsHandoffSleep.toFixed(1)}×`];
  });
  const { machine } = r;
  const table = markdownTable(['getpid, as the guest sees it', 'median per call', 'range', 'vs hand-off (spin)', 'vs hand-off (sleep)'], rows);
  const chart = plot(r);
  const charts = [
    barChart({
      id: 'per-call',
      title: 'Time per getpid as the guest sees it (median, log scale)',
      axis: 'ns per call',
      log: true,
      format: ',.0f',
      axisFormat: ',.0f',
      bars: r.configurations.map((c) => ({ label: c.label, value: c.medianNs, group: c.kernel === 'native' ? 'native kernel' : 'virtual kernel' })),
    }),
  ];
  const markdown = [
    `# Null system call (getpid): ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}. ${r.rounds} rounds, median per configuration. Native rows are timed by the guest's own monotonic clock around its calls; virtual rows (whose clock is simulated) by the host between the guest's "start" and "end" lines.`,
    '',
    table,
    '',
    ...plotSection('null-syscall', chart),
    '',
    ...chartSection('null-syscall', charts),
    'Command: `npm run bench -- null-syscall`',
  ].join('\n');
  return { markdown, plot: chart, charts };
}

export const nullSyscall: Suite<NullSyscallResults> = { measure: measureAll, render };
