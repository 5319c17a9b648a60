// File work spread over syscall threads: random 4 KiB preads from 8 files (64 in flight) by a guest
// on the os kernel, exception-less with 1, 2 and 4 syscall threads (each openat goes to the next
// thread, so descriptors and their reads spread over the threads) with the os kernel's two ways of
// running file calls (fileIo 'auto': synchronously on a thread without sockets, the default; and
// 'threadpool': libuv's pool), in sync and epoll modes, and the same reads written directly on
// Node's fs (asynchronous fs.read, the baseline, and synchronous fs.readSync, which is what the rows
// reading synchronously on a syscall thread compete with), side by side; medians over interleaved rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { VM, type Mode } from '../../host/index.js';
import { machineInfo, spinUs, threadCounts, type MachineInfo } from '../lib/machine.js';
import { formatNs, markdownTable, median } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';

const GUEST = fileURLToPath(new URL('../../../bench/guests/fileread.wasm', import.meta.url));
const NODE_READ = fileURLToPath(new URL('../tools/node-fileread.js', import.meta.url));
const FILES = 8;
const FILE_SIZE = 1 << 20;

interface Config {
  readonly id: string;
  readonly label: string;
  readonly mode: Mode | null;
  readonly threads: number;
  /** The os kernel's fileIo option (absent in results from before it existed: the threadpool). */
  readonly fileIo?: 'auto' | 'threadpool';
  /** A Node baseline that reads with fs.readSync instead of the asynchronous fs.read. */
  readonly sync?: boolean;
}

const plural = (t: number): string => `${t} syscall thread${t > 1 ? 's' : ''}`;
const THREADS = threadCounts([1, 2, 4]);
const CONFIGS: readonly Config[] = [
  { id: 'node-fs', label: 'Node `fs` (baseline)', mode: null, threads: 0 },
  { id: 'node-fs-sync', label: 'Node `fs.readSync` (synchronous baseline)', mode: null, threads: 0, sync: true },
  ...THREADS.map((t): Config => ({ id: `exceptionless-${t}`, label: `guest, exceptionless, ${plural(t)}`, mode: 'exceptionless', threads: t, fileIo: 'auto' })),
  ...THREADS.map((t): Config => ({ id: `exceptionless-pool-${t}`, label: `guest, exceptionless, ${plural(t)}, libuv threadpool`, mode: 'exceptionless', threads: t, fileIo: 'threadpool' })),
  { id: 'sync-1', label: 'guest, sync, 1 syscall thread', mode: 'sync', threads: 1, fileIo: 'auto' },
  { id: 'epoll', label: 'guest, epoll (files read synchronously on its thread)', mode: 'epoll', threads: 1 },
];

/** bench/results/file-io.json. */
export interface FileIoResults {
  suite: 'file-io';
  date: string;
  machine: MachineInfo;
  rounds: number;
  reads: number;
  /** Syscall threads' idle polling, when FLEXVM_BENCH_SPIN_US set it (else the VM's default). */
  spinUs?: number;
  configurations: (Config & { nsPerRead: number[]; medianNs: number })[];
}

async function measureGuest(vm: VM, c: Config, dir: string, reads: number): Promise<number> {
  let start = 0;
  let end = 0;
  let text = '';
  const result = await vm.run(GUEST, {
    args: ['--dir', '/data', '--files', String(FILES), '--file-size', String(FILE_SIZE), '--reads', String(reads)],
    dirs: [`${dir}:/data`],
    mode: c.mode!,
    stdout: (d) => {
      const now = performance.now();
      text += Buffer.from(d).toString();
      if (!start && text.includes('start')) start = now;
      if (!end && text.includes('end')) end = now;
    },
  });
  if (result.status !== 0 || !start || !end) throw new Error(`${c.id}: guest failed (${result.status}: ${result.message ?? ''})`);
  return ((end - start) * 1e6) / reads;
}

function measureNode(dir: string, reads: number, sync: boolean): number {
  const args = [NODE_READ, '--dir', dir, '--files', String(FILES), '--file-size', String(FILE_SIZE), '--reads', String(reads), ...(sync ? ['--sync'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`node-fs baseline failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim()) as { nsPerRead: number }).nsPerRead;
}

async function measure(opts: { rounds: number; scale: number }): Promise<FileIoResults> {
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-file-io-'));
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `f${i}`), randomBytes(FILE_SIZE));
  const reads = Math.max(5000, Math.round(100_000 * opts.scale));
  const vms = new Map<string, VM>();
  const samples = new Map<string, number[]>(CONFIGS.map((c) => [c.id, []]));
  try {
    for (const c of CONFIGS) {
      const spin = spinUs();
      if (c.mode) vms.set(c.id, await VM.create({ kernel: { kind: 'os', fileIo: c.fileIo }, syscallThreads: c.threads, mode: c.mode, ...(spin !== undefined ? { spinUs: spin } : {}) }));
    }
    const progress = new Progress('file-io', opts.rounds * CONFIGS.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of CONFIGS) {
        const ns = c.mode ? await measureGuest(vms.get(c.id)!, c, dir, reads) : measureNode(dir, reads, c.sync === true);
        samples.get(c.id)!.push(ns);
        progress.tick(`round ${round + 1}, ${c.id}`);
      }
    }
    progress.stop();
  } finally {
    await Promise.all([...vms.values()].map((vm) => vm.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (id: string): number => median(samples.get(id)!);
  const spin = spinUs();
  return { suite: 'file-io', date: new Date().toISOString(), machine: machineInfo(), rounds: opts.rounds, reads, ...(spin !== undefined ? { spinUs: spin } : {}), configurations: CONFIGS.map((c) => ({ ...c, nsPerRead: samples.get(c.id)!, medianNs: med(c.id) })) };
}

/**
 * Time per read against syscall threads: one series per mode that hands files to syscall threads
 * (a mode measured at one thread count is a single point); Node fs and epoll mode read files
 * without them, so they are drawn flat for reference.
 */
function plot(r: FileIoResults): string {
  const flat = r.configurations.filter((c) => c.mode === null || c.mode === 'epoll');
  const threaded = r.configurations.filter((c) => !flat.includes(c));
  const threads = [...new Set(threaded.map((c) => c.threads))].sort((a, b) => a - b);
  const seriesOf = (c: Config): string => (c.fileIo === 'threadpool' ? `${c.mode}, libuv threadpool` : c.mode!);
  const names = [...new Set(threaded.map(seriesOf))];
  return lineChart({
    x: { label: 'syscall threads (categories, not to scale)', ticks: threads.map(String) },
    y: { label: 'median time per 4 KiB read (log scale)', format: formatNs, log: true },
    series: [
      ...names.map((name) => {
        const measured = threaded.filter((c) => seriesOf(c) === name).map((c) => c.threads);
        const only = measured.length < threads.length ? `; measured with ${measured.join(', ')} syscall thread${measured.join() === '1' ? '' : 's'} only` : '';
        return { label: `guest, ${name}${only}`, values: threads.map((t) => threaded.find((c) => seriesOf(c) === name && c.threads === t)?.medianNs ?? null) };
      }),
      ...flat.map((c) => ({ label: `${c.label}; no syscall threads for files, drawn flat`, values: threads.map(() => c.medianNs) })),
    ],
  });
}

function render(r: FileIoResults): Report {
  const base = r.configurations.find((c) => c.id === 'node-fs');
  if (!base) throw new Error('file-io: results lack the node-fs baseline');
  const rows = r.configurations.map((c) => [c.label, formatNs(c.medianNs), `${Math.round(1e9 / c.medianNs).toLocaleString('en-US')}`, `${(base.medianNs / c.medianNs).toFixed(2)}×`]);
  const chart = plot(r);
  const { machine } = r;
  const charts = [
    barChart({ id: 'reads', title: 'Random 4 KiB reads per second (median)', axis: 'reads per second', bars: r.configurations.map((c) => ({ label: c.label, value: 1e9 / c.medianNs, group: c.mode ? 'flexvm' : 'Node' })) }),
  ];
  const markdown = [
    `# File reads spread over syscall threads: ${r.date.slice(0, 10)}`,
    '',
    `Random 4 KiB preads from ${FILES} files of 1 MiB (page cache), 64 in flight, median of ${r.rounds} rounds${r.spinUs !== undefined ? `, syscall threads polling ${r.spinUs} µs before sleeping` : ''}. Exception-less rows read files synchronously on their syscall threads (the os kernel's default on a thread without sockets) unless they say "libuv threadpool". Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}.`,
    '',
    markdownTable(['reader', 'per read', 'reads/s', 'vs Node fs'], rows),
    '',
    ...plotSection('file-io', chart),
    '',
    ...chartSection('file-io', charts),
    'Command: `npm run bench -- file-io`',
  ].join('\n');
  return { markdown, plot: chart , charts };
}

export const fileIo: Suite<FileIoResults> = { measure, render };
