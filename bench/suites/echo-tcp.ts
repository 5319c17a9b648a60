// Echo round trips over real TCP on loopback: the guest echo server (os kernel) in each mode with 1
// and 2 syscall threads, and, side by side in the same run, an echo server written directly on
// Node's `net`. Every server runs in its own process for the whole suite; a separate load process
// drives one of them at a time, configurations interleaved round by round; medians over the rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connCounts, machineInfo, onlyConfigs, threadCounts, type MachineInfo } from '../lib/machine.js';
import { markdownTable, median } from '../lib/stats.js';
import { plotSection, type Report, type Suite } from '../lib/output.js';
import { lineChart } from '../lib/plot.js';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { Progress } from '../lib/progress.js';
import { runJsonTool } from '../lib/processes.js';
import { barChart, chartSection } from '../lib/charts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;
const LOAD = fileURLToPath(new URL('../tools/echo-load.js', import.meta.url));
const NODE_ECHO = fileURLToPath(new URL('../tools/node-echo-server.js', import.meta.url));
const CONNS = connCounts([1, 16, 64, 256]);

interface ServerConfig {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
}

function guest(mode: string, threads: number, kernel: 'os' | 'native' = 'os'): ServerConfig {
  return {
    id: `${kernel === 'os' ? '' : `${kernel}-`}${mode}-${threads}`,
    label: `guest on ${kernel}, ${mode}, ${threads} syscall thread${threads > 1 ? 's' : ''}`,
    args: [CLI, 'run', `${ROOT}examples/echo/server.wasm`, '--kernel', kernel, '--mode', mode, '--syscall-threads', String(threads), '--', '--port', '0', '--accepts', '16'],
  };
}

const THREADS = threadCounts([1, 2]);
// The baseline always runs (every ratio is to it); FLEXVM_BENCH_ONLY picks among the guests.
const SERVERS: readonly ServerConfig[] = [
  { id: 'node-net', label: 'Node `net` echo server (baseline)', args: [NODE_ECHO, '0'] },
  ...onlyConfigs([
    ...THREADS.map((t) => guest('exceptionless', t)),
    ...THREADS.map((t) => guest('epoll', t)),
    ...THREADS.map((t) => guest('sync', t)),
    // The native kernel (where its addon is built): the same guest, real system calls by native threads.
    ...(typeof loadNativeAddon() === 'string' ? [] : (['exceptionless', 'epoll', 'sync'] as const).flatMap((m) => THREADS.map((t) => guest(m, t, 'native')))),
  ]),
];

/** bench/results/echo-tcp.json. */
export interface EchoTcpResults {
  suite: 'echo-tcp';
  date: string;
  machine: MachineInfo;
  rounds: number;
  secondsPerRun: number;
  servers: {
    id: string;
    label: string;
    /** Keyed by connection count. */
    /** Keyed by connection count; latencies are percentiles of every round trip of a round (HDR histogram), per round. */
    byConnections: Record<string, { rps: number[]; medianRps: number; p50ms?: number[]; p99ms: number[]; p999ms?: number[]; vsNode: number }>;
  }[];
}

interface Running {
  readonly config: ServerConfig;
  readonly child: ChildProcess;
  readonly port: number;
}

function startServer(config: ServerConfig): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, config.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${config.id}: no port after 10 s: ${err}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ config, child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`${config.id} exited (${code}): ${err}`)));
  });
}

function load(port: number, conns: number, seconds: number): Promise<{ rps: number; p50ms: number; p99ms: number; p999ms: number; errors: number }> {
  return runJsonTool([process.execPath, LOAD, '--port', String(port), '--conns', String(conns), '--seconds', String(seconds)], (seconds + 20) * 1000);
}

async function measure(opts: { rounds: number; scale: number }): Promise<EchoTcpResults> {
  const seconds = Math.max(0.5, 2 * opts.scale * 2.5);
  const running: Running[] = [];
  const samples = new Map<string, number[]>();
  const p50 = new Map<string, number[]>();
  const p99 = new Map<string, number[]>();
  const p999 = new Map<string, number[]>();
  try {
    for (const s of SERVERS) running.push(await startServer(s));
    const progress = new Progress('echo-tcp', opts.rounds * CONNS.length * running.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const conns of CONNS) {
        for (const r of running) {
          const key = `${r.config.id}@${conns}`;
          const result = await load(r.port, conns, seconds);
          (samples.get(key) ?? samples.set(key, []).get(key)!).push(result.rps);
          (p50.get(key) ?? p50.set(key, []).get(key)!).push(result.p50ms);
          (p99.get(key) ?? p99.set(key, []).get(key)!).push(result.p99ms);
          (p999.get(key) ?? p999.set(key, []).get(key)!).push(result.p999ms);
          progress.tick(`round ${round + 1}, ${r.config.id}, ${conns} conns`);
        }
      }
    }
    progress.stop();
  } finally {
    for (const r of running) r.child.kill('SIGINT');
  }
  const med = (id: string, c: number): number => median(samples.get(`${id}@${c}`)!);
  return {
    suite: 'echo-tcp',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    secondsPerRun: seconds,
    servers: SERVERS.map((s) => ({
      id: s.id,
      label: s.label,
      byConnections: Object.fromEntries(CONNS.map((c) => [c, { rps: samples.get(`${s.id}@${c}`)!, medianRps: med(s.id, c), p50ms: p50.get(`${s.id}@${c}`)!, p99ms: p99.get(`${s.id}@${c}`)!, p999ms: p999.get(`${s.id}@${c}`)!, vsNode: med(s.id, c) / med('node-net', c) }])),
    })),
  };
}

/** The colour of a server's bars: its kernel, or the peer. */
const groupOf = (id: string): string => (id.startsWith('node') ? 'Node' : id.startsWith('native') ? 'native kernel' : 'os kernel');

/** Compact requests/s for the axis: "12.9k", "187k". */
const formatRps = (v: number): string => (v >= 1000 ? `${(v / 1000).toPrecision(3)}k` : v.toPrecision(3));

function render(r: EchoTcpResults): Report {
  // Connection counts as measured (integer keys keep ascending order).
  const conns = Object.keys(r.servers[0]?.byConnections ?? {});
  const cell = (s: EchoTcpResults['servers'][number], c: string) => s.byConnections[c]!;
  const header = ['echo server', ...conns.map((c) => `${c} conn${c !== '1' ? 's' : ''}`)];
  const rows = r.servers.map((s) => [s.label, ...conns.map((c) => `${Math.round(cell(s, c).medianRps).toLocaleString('en-US')} (${cell(s, c).vsNode.toFixed(2)}×)`)]);
  const chart = lineChart({
    x: { label: 'concurrent connections (categories, not to scale)', ticks: conns },
    y: { label: 'median round trips per second', format: formatRps },
    height: 18,
    series: r.servers.map((s) => ({ label: s.label, values: conns.map((c) => cell(s, c).medianRps) })),
  });
  // Latency: the median over rounds of each round's percentile (every round trip in an HDR histogram).
  const ms = (v: number[] | undefined): string => (v && v.length ? `${median(v).toPrecision(3)}` : '–');
  const latencyRows = r.servers.map((s) => [s.label, ...conns.map((c) => `${ms(cell(s, c).p50ms)} / ${ms(cell(s, c).p99ms)} / ${ms(cell(s, c).p999ms)}`)]);
  const at = conns.includes('64') ? '64' : conns[conns.length - 1]!;
  const charts = [
    barChart({
      id: `rps-${at}`,
      title: `Echo round trips per second at ${at} connections (median)`,
      axis: 'round trips per second',
      bars: r.servers.map((s) => ({ label: s.label, value: cell(s, at).medianRps, group: groupOf(s.id) })),
    }),
    barChart({
      id: `p99-${at}`,
      title: `Echo round-trip latency at ${at} connections: p99 (ms)`,
      axis: 'p99 round trip, ms',
      format: '.3~f',
      axisFormat: '.2~f',
      bars: r.servers.filter((s) => cell(s, at).p99ms.length).map((s) => ({ label: s.label, value: median(cell(s, at).p99ms), group: groupOf(s.id) })),
    }),
  ];
  const { machine } = r;
  const markdown = [
    `# Echo over real TCP: ${r.date.slice(0, 10)}`,
    '',
    `Round trips per second of 64-byte messages (one outstanding per connection), median of ${r.rounds} rounds of ${r.secondsPerRun} s; in parentheses, the ratio to the Node \`net\` server at the same connection count. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; the load generator runs on the same machine.`,
    '',
    markdownTable(header, rows),
    '',
    ...plotSection('echo-tcp', chart),
    '',
    'Round-trip latency in ms, p50 / p99 / p99.9 (every round trip of a round in an HDR histogram; the median over rounds):',
    '',
    markdownTable(['echo server', ...conns.map((c) => `${c} conn${c !== '1' ? 's' : ''}`)], latencyRows),
    '',
    ...chartSection('echo-tcp', charts),
    'Command: `npm run bench -- echo-tcp`',
  ].join('\n');
  return { markdown, plot: chart, charts };
}

export const echoTcp: Suite<EchoTcpResults> = { measure, render };
