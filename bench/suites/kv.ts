// The paper's memcached workload: memcaslap (Debian's libmemcached-tools) with 90% get and 10% set
// over 1 to 1024 connections, against the kv guest on every kernel a real client can reach (os,
// and native where the addon loads; the virtual kernel has no host sockets) in each mode with 1 and
// 2 syscall threads, and, side by side in the same run, memcached itself with one worker thread (-t 1) and
// a plain get/set server written directly on Node `net` (bench/tools/node-kv-server.ts). Every
// server runs in its own process for the whole suite; runs are interleaved round by round; medians
// over the rounds. The client's CPU time comes from the shell's `times` after each memcaslap run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { machineInfo, onlyConfigs, threadCounts, type MachineInfo } from '../lib/machine.js';
import { markdownTable, median } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;
const NODE_KV = fileURLToPath(new URL('../tools/node-kv-server.js', import.meta.url));
const CONNS = (process.env['FLEXVM_BENCH_KV_CONNS'] ?? '1,16,64,256,1024').split(',').map(Number);

interface ServerConfig {
  readonly id: string;
  readonly label: string;
  readonly command: string;
  readonly args: (port: number) => readonly string[];
}

type Kernel = 'os' | 'native';

function guest(kernel: Kernel, mode: string, threads: number): ServerConfig {
  return {
    id: `kv-${kernel}-${mode}-${threads}`,
    label: `kv guest, ${kernel} kernel, ${mode}, ${threads} syscall thread${threads > 1 ? 's' : ''}`,
    command: process.execPath,
    args: (port) => [CLI, 'kv', '--kernel', kernel, '--mode', mode, '--syscall-threads', String(threads), '-p', String(port), '-c', '4096', '-m', '64'],
  };
}

const THREADS = threadCounts([1, 2]);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const KERNELS: readonly Kernel[] = typeof loadNativeAddon() === 'string' ? ['os'] : ['native', 'os'];
// memcached and the Node server always run: every ratio is to them.
const SERVERS: readonly ServerConfig[] = [
  { id: 'memcached', label: 'memcached -t 1 (Debian)', command: 'memcached', args: (port) => ['-p', String(port), '-U', '0', '-l', '127.0.0.1', '-t', '1', '-m', '64', '-c', '4096', ...(root ? ['-u', 'nobody'] : [])] },
  { id: 'node-net', label: 'Node `net` get/set server (baseline)', command: process.execPath, args: (port) => [NODE_KV, String(port)] },
  ...onlyConfigs(KERNELS.flatMap((k) => (['exceptionless', 'epoll', 'sync'] as const).flatMap((m) => THREADS.map((t) => guest(k, m, t))))),
];

interface Cell {
  ops: number[];
  medianOps: number;
  /** memcaslap's CPU seconds (user + system) per second of run. */
  clientCpu: number[];
  medianClientCpu: number;
  vsNode: number;
  vsMemcached: number;
}

/** bench/results/kv.json. */
export interface KvResults {
  suite: 'kv';
  date: string;
  machine: MachineInfo;
  rounds: number;
  secondsPerRun: number;
  note: string;
  servers: { id: string; label: string; byConnections: Record<string, Cell> }[];
}

interface Running {
  readonly config: ServerConfig;
  readonly child: ChildProcess;
  readonly port: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startServer(config: ServerConfig): Promise<Running> {
  const port = await freePort();
  const child = spawn(config.command, config.args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // Ready when it accepts a connection.
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return { config, child, port };
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  throw new Error(`${config.id} did not start: ${err}`);
}

/** One memcaslap run: operations per second and the client's CPU seconds per second. */
function memcaslap(port: number, conns: number, seconds: number): { ops: number; cpu: number } {
  const threads = conns >= 2 ? 2 : 1;
  const args = ['-s', `127.0.0.1:${port}`, '-T', String(threads), '-c', String(conns), '-t', `${seconds}s`, '-X', '64', '-w', '1k'];
  const r = spawnSync('bash', ['-c', 'memcaslap "$@" 2>&1; times', 'memcaslap', ...args], { encoding: 'utf8', timeout: (seconds + 60) * 1000 });
  const out = r.stdout ?? '';
  const m = /Run time: [\d.]+s Ops: (\d+) TPS: (\d+)/.exec(out);
  if (!m) throw new Error(`memcaslap -c ${conns} against port ${port}: no result\n${out.slice(-2000)}`);
  // `times`: the shell's own times, then its children's ("0m0.120s 0m0.340s").
  const t = out.trim().split('\n').slice(-1)[0]!.match(/(\d+)m([\d.]+)s/g) ?? [];
  const sec = (s: string): number => {
    const x = /(\d+)m([\d.]+)s/.exec(s)!;
    return Number(x[1]) * 60 + Number(x[2]);
  };
  const cpu = t.length >= 2 ? (sec(t[0]!) + sec(t[1]!)) / seconds : NaN;
  return { ops: Number(m[2]), cpu };
}

async function measure(opts: { rounds: number; scale: number }): Promise<KvResults> {
  const seconds = Math.max(1, Math.round(3 * opts.scale * 2.5));
  const running: Running[] = [];
  const ops = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number): void => void (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  try {
    for (const s of SERVERS) running.push(await startServer(s));
    const progress = new Progress('kv', opts.rounds * CONNS.length * running.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const conns of CONNS) {
        for (const r of running) {
          const result = memcaslap(r.port, conns, seconds);
          push(ops, `${r.config.id}@${conns}`, result.ops);
          push(cpu, `${r.config.id}@${conns}`, result.cpu);
          progress.tick(`round ${round + 1}, ${r.config.id}, ${conns} conns: ${result.ops} ops/s`);
        }
      }
    }
    progress.stop();
  } finally {
    for (const r of running) r.child.kill('SIGINT');
  }
  const med = (id: string, c: number): number => median(ops.get(`${id}@${c}`)!);
  return {
    suite: 'kv',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    secondsPerRun: seconds,
    note: process.env['FLEXVM_BENCH_NOTE'] ?? '',
    servers: SERVERS.map((s) => ({
      id: s.id,
      label: s.label,
      byConnections: Object.fromEntries(
        CONNS.map((c) => [
          c,
          {
            ops: ops.get(`${s.id}@${c}`)!,
            medianOps: med(s.id, c),
            clientCpu: cpu.get(`${s.id}@${c}`)!,
            medianClientCpu: median(cpu.get(`${s.id}@${c}`)!),
            vsNode: med(s.id, c) / med('node-net', c),
            vsMemcached: med(s.id, c) / med('memcached', c),
          },
        ]),
      ),
    })),
  };
}

const formatOps = (v: number): string => (v >= 1000 ? `${(v / 1000).toPrecision(3)}k` : v.toPrecision(3));

function render(r: KvResults): Report {
  const conns = Object.keys(r.servers[0]?.byConnections ?? {});
  const cell = (s: KvResults['servers'][number], c: string): Cell => s.byConnections[c]!;
  const header = ['server', ...conns.map((c) => `${c} conn${c !== '1' ? 's' : ''}`)];
  const rows = r.servers.map((s) => [
    s.label,
    ...conns.map((c) => `${Math.round(cell(s, c).medianOps).toLocaleString('en-US')} (${cell(s, c).vsNode.toFixed(2)}× Node, ${cell(s, c).vsMemcached.toFixed(2)}× mc; client CPU ${cell(s, c).medianClientCpu.toFixed(2)})`),
  ]);
  const ratioRows = KERNEL_THREADS_OF(r).map(({ kernel, threads: t }) => {
    const ex = r.servers.find((s) => s.id === `kv-${kernel}-exceptionless-${t}`);
    const ep = r.servers.find((s) => s.id === `kv-${kernel}-epoll-${t}`);
    return [`${kernel}: exceptionless / epoll, ${t} thread${t !== '1' ? 's' : ''}`, ...conns.map((c) => (ex && ep ? (cell(ex, c).medianOps / cell(ep, c).medianOps).toFixed(2) : '-'))];
  });
  const chart = lineChart({
    x: { label: 'concurrent connections (categories, not to scale)', ticks: conns },
    y: { label: 'median operations per second (memcaslap, 90% get / 10% set)', format: formatOps },
    height: 18,
    series: r.servers.map((s) => ({ label: s.label, values: conns.map((c) => cell(s, c).medianOps) })),
  });
  const { machine } = r;
  const at = conns.includes('64') ? '64' : conns[conns.length - 1]!;
  const charts = [
    barChart({ id: `ops-${at}`, title: `kv: operations per second at ${at} connections (median; 90% get, 10% set)`, axis: 'operations per second', bars: r.servers.map((s) => ({ label: s.label, value: cell(s, at).medianOps })) }),
  ];
  const markdown = [
    `# kv: memcaslap against the kv guest, memcached and a Node server: ${r.date.slice(0, 10)}`,
    '',
    `Operations per second (memcaslap, 90% get / 10% set, 64-byte values, 1k keys per connection), median of ${r.rounds} rounds of ${r.secondsPerRun} s; in parentheses the ratios to the Node \`net\` server and to memcached -t 1 at the same connection count, and memcaslap's own CPU (seconds per second). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; memcaslap runs on the same machine.${r.note ? ' ' + r.note : ''}`,
    '',
    markdownTable(header, rows),
    '',
    markdownTable(['ratio', ...conns], ratioRows),
    '',
    ...plotSection('kv', chart),
    '',
    ...chartSection('kv', charts),
    'Command: `npm run bench -- kv` (FLEXVM_BENCH_KV_CONNS, FLEXVM_BENCH_THREADS, FLEXVM_BENCH_ONLY, FLEXVM_BENCH_NOTE)',
  ].join('\n');
  return { markdown, plot: chart, charts };
}

/** The (kernel, syscall threads) pairs that have an exceptionless row; ids are kv-KERNEL-MODE-THREADS. */
function KERNEL_THREADS_OF(r: KvResults): { kernel: string; threads: string }[] {
  return r.servers
    .map((s) => /^kv-(\w+)-exceptionless-(\d+)$/.exec(s.id))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ kernel: m[1]!, threads: m[2]! }));
}

export const kv: Suite<KvResults> = { measure, render };
