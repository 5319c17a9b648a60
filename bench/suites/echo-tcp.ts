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
    byConnections: Record<string, { rps: number[]; medianRps: number; p99ms: number[]; vsNode: number }>;
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

function load(port: number, conns: number, seconds: number): Promise<{ rps: number; p50ms: number; p99ms: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, '--port', String(port), '--conns', String(conns), '--seconds', String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('exit', () => {
      clearTimeout(kill);
      try {
        const r = JSON.parse(out.trim().split('\n').pop()!);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      } catch {
        reject(new Error(`load generator failed: ${out}`));
      }
    });
  });
}

async function measure(opts: { rounds: number; scale: number }): Promise<EchoTcpResults> {
  const seconds = Math.max(0.5, 2 * opts.scale * 2.5);
  const running: Running[] = [];
  const samples = new Map<string, number[]>();
  const p99 = new Map<string, number[]>();
  try {
    for (const s of SERVERS) running.push(await startServer(s));
    for (let round = 0; round < opts.rounds; round++) {
      for (const conns of CONNS) {
        for (const r of running) {
          const key = `${r.config.id}@${conns}`;
          const result = await load(r.port, conns, seconds);
          (samples.get(key) ?? samples.set(key, []).get(key)!).push(result.rps);
          (p99.get(key) ?? p99.set(key, []).get(key)!).push(result.p99ms);
        }
      }
      process.stderr.write(`echo-tcp: round ${round + 1}/${opts.rounds}\n`);
    }
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
      byConnections: Object.fromEntries(CONNS.map((c) => [c, { rps: samples.get(`${s.id}@${c}`)!, medianRps: med(s.id, c), p99ms: p99.get(`${s.id}@${c}`)!, vsNode: med(s.id, c) / med('node-net', c) }])),
    })),
  };
}

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
    'Command: `npm run bench -- echo-tcp`',
  ].join('\n');
  return { markdown, plot: chart };
}

export const echoTcp: Suite<EchoTcpResults> = { measure, render };
