// The httpd guest against its peers, side by side in one run: ApacheBench (`ab`) with and without
// keep-alive, a 64-byte and an 8 KiB file, 16/64/256 connections, against the httpd guest on every
// real kernel (os, native) and mode with 1 and 2 syscall threads, a static server on node:http with a
// memory cache, and nginx from Debian with one worker (sendfile on, access_log off). The suite starts
// and stops every server. Client CPU (ab's user + system time per request) is reported too: on a
// small machine the client competes with the server for the cores.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon } from '../../host/kernel/native/addon.js';
import { connCounts, machineInfo, onlyConfigs, threadCounts, type MachineInfo } from '../lib/machine.js';
import { markdownTable, median } from '../lib/stats.js';
import type { Report, Suite } from '../lib/output.js';
import { Progress } from '../lib/progress.js';
import { barChart, chartSection } from '../lib/charts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;
const NODE_STATIC = fileURLToPath(new URL('../tools/node-static-server.js', import.meta.url));
const CONNS = connCounts([16, 64, 256]);
const FILES = [
  { name: 'small.bin', bytes: 64 },
  { name: 'page.bin', bytes: 8192 },
];
const KEEPALIVE = [true, false];

interface ServerConfig {
  readonly id: string;
  readonly label: string;
  readonly command: string;
  readonly args: (docroot: string, dir: string) => string[];
  /** How the server says where it listens; nginx gets its port up front. */
  readonly fixedPort?: boolean;
}

function guest(kernel: 'os' | 'native', mode: string, threads: number): ServerConfig {
  return {
    id: `${kernel}-${mode}-${threads}`,
    label: `httpd guest on ${kernel}, ${mode}, ${threads} thread${threads > 1 ? 's' : ''}`,
    command: process.execPath,
    args: (docroot) => [CLI, 'run', `${ROOT}examples/httpd/server.wasm`, '--kernel', kernel, '--mode', mode, '--syscall-threads', String(threads), '--dir', `${docroot}:/www:ro`, '--', '--root', '/www', '--port', '0'],
  };
}

function nginx(port: number): ServerConfig {
  return {
    id: 'nginx',
    label: 'nginx, one worker (sendfile on, access_log off)',
    command: '/usr/sbin/nginx',
    fixedPort: true,
    args: (docroot, dir) => {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; keepalive_requests 1000000; client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${docroot}; } }
`,
      );
      return ['-c', conf, '-p', dir];
    },
  };
}

const THREADS = threadCounts([1, 2]);
const NGINX_PORT = 18080 + (process.pid % 1000);
const SERVERS: readonly ServerConfig[] = onlyConfigs([
  ...(spawnSync('/usr/sbin/nginx', ['-v']).status === 0 ? [nginx(NGINX_PORT)] : []),
  { id: 'node-http', label: 'static server on node:http, memory cache', command: process.execPath, args: (docroot) => [NODE_STATIC, docroot, '0'] },
  ...(typeof loadNativeAddon() === 'string' ? [] : (['exceptionless', 'epoll', 'sync'] as const).flatMap((m) => THREADS.map((t) => guest('native', m, t)))),
  ...(['exceptionless', 'epoll', 'sync'] as const).flatMap((m) => THREADS.map((t) => guest('os', m, t))),
]);

export interface HttpdResults {
  suite: 'httpd';
  date: string;
  machine: MachineInfo;
  rounds: number;
  secondsPerRun: number;
  servers: { id: string; label: string; points: Record<string, { rps: number[]; medianRps: number; clientUsPerRequest: number; /** ab's own percentiles of every request's time, median over rounds. */ p50ms?: number | null; p99ms?: number | null; failed: number; vsNginx: number | null; vsNodeHttp: number | null }> }[];
}

interface Running {
  readonly config: ServerConfig;
  readonly child: ChildProcess;
  readonly port: number;
}

function startServer(config: ServerConfig, docroot: string, dir: string): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(config.command, config.args(docroot, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => (config.fixedPort ? resolve({ config, child, port: NGINX_PORT }) : reject(new Error(`${config.id}: no port after 10 s: ${err}`))), config.fixedPort ? 1000 : 10_000);
    const look = (d: Buffer): void => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ config, child, port: Number(m[1]) });
      }
    };
    child.stderr!.on('data', look);
    child.stdout!.on('data', look);
    child.on('exit', (code) => reject(new Error(`${config.id} exited (${code}): ${err}`)));
  });
}

/**
 * One ab run; its requests/s, failures, CPU (the shell's `times`: ab's user + system seconds) and
 * latency percentiles. ab keeps every request's time; its `-e` table gives them to the microsecond
 * (its printed table rounds to whole milliseconds).
 */
function ab(port: number, path: string, conns: number, keepAlive: boolean, seconds: number, csv: string): { rps: number; failed: number; cpuS: number; done: number; p50ms: number; p99ms: number } {
  const flags = `${keepAlive ? '-k ' : ''}-q -r -s 10 -c ${conns} -t ${seconds} -n 10000000 -e ${csv}`;
  const r = spawnSync('sh', ['-c', `ab ${flags} http://127.0.0.1:${port}${path} 2>&1; times`], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const done = Number(/Complete requests:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const times = out.trim().split('\n').slice(-1)[0] ?? '';
  const secs = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  let table = '';
  try {
    table = readFileSync(csv, 'utf8');
  } catch {
    /* ab wrote none (it failed): no percentiles */
  }
  const pct = (p: number): number => Number(new RegExp(`^${p},([\\d.]+)`, 'm').exec(table)?.[1] ?? NaN);
  return { rps, failed, cpuS: (secs[0] ?? 0) + (secs[1] ?? 0), done, p50ms: pct(50), p99ms: pct(99) };
}

async function measure(opts: { rounds: number; scale: number }): Promise<HttpdResults> {
  const seconds = Math.max(1, Math.round(3 * opts.scale * 2) / 2);
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-bench-httpd-'));
  const docroot = join(dir, 'www');
  spawnSync('mkdir', ['-p', docroot]);
  for (const f of FILES) writeFileSync(join(docroot, f.name), Buffer.alloc(f.bytes, 0x61));
  // nginx's workers run as nobody: the docroot and the folders above it must be readable.
  chmodSync(dir, 0o755);
  chmodSync(docroot, 0o755);
  const running: Running[] = [];
  const samples = new Map<string, { rps: number[]; cpu: number[]; p50: number[]; p99: number[]; failed: number }>();
  try {
    for (const s of SERVERS) running.push(await startServer(s, docroot, dir));
    for (const r of running) {
      const check = ab(r.port, `/${FILES[0]!.name}`, 1, false, 1, join(dir, 'ab-percentiles.csv'));
      if (check.done === 0 || check.failed > 0) throw new Error(`${r.config.id}: the check request failed (${check.failed} failed of ${check.done})`);
    }
    const progress = new Progress('httpd', opts.rounds * FILES.length * KEEPALIVE.length * CONNS.length * running.length);
    for (let round = 0; round < opts.rounds; round++) {
      for (const f of FILES)
        for (const ka of KEEPALIVE)
          for (const c of CONNS)
            for (const r of running) {
              const key = `${r.config.id}|${f.name}|${ka ? 'k' : 'close'}|${c}`;
              const res = ab(r.port, `/${f.name}`, c, ka, seconds, join(dir, 'ab-percentiles.csv'));
              const s = samples.get(key) ?? samples.set(key, { rps: [], cpu: [], p50: [], p99: [], failed: 0 }).get(key)!;
              if (Number.isFinite(res.p50ms)) s.p50.push(res.p50ms);
              if (Number.isFinite(res.p99ms)) s.p99.push(res.p99ms);
              s.rps.push(res.rps);
              s.cpu.push(res.done ? (res.cpuS * 1e6) / res.done : 0);
              s.failed += res.failed;
              progress.tick(`round ${round + 1}, ${r.config.id}, ${f.name}, ${ka ? 'keep-alive' : 'close'}, ${c} conns`);
            }
    }
    progress.stop();
  } finally {
    for (const r of running) r.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
  const point = (id: string, key: string) => samples.get(`${id}|${key}`);
  return {
    suite: 'httpd',
    date: new Date().toISOString(),
    machine: machineInfo(),
    rounds: opts.rounds,
    secondsPerRun: seconds,
    servers: SERVERS.map((s) => ({
      id: s.id,
      label: s.label,
      points: Object.fromEntries(
        FILES.flatMap((f) =>
          KEEPALIVE.flatMap((ka) =>
            CONNS.map((c) => {
              const key = `${f.name}|${ka ? 'k' : 'close'}|${c}`;
              const p = point(s.id, key)!;
              const m = median(p.rps);
              const ng = point('nginx', key);
              const nh = point('node-http', key);
              return [key, { rps: p.rps, medianRps: m, clientUsPerRequest: median(p.cpu), p50ms: p.p50.length ? median(p.p50) : null, p99ms: p.p99.length ? median(p.p99) : null, failed: p.failed, vsNginx: ng ? m / median(ng.rps) : null, vsNodeHttp: nh ? m / median(nh.rps) : null }];
            }),
          ),
        ),
      ),
    })),
  };
}

function render(r: HttpdResults): Report {
  const keys = Object.keys(r.servers[0]?.points ?? {});
  const sections: string[] = [];
  for (const key of keys) {
    const [file, ka, conns] = key.split('|');
    const rows = r.servers.map((s) => {
      const p = s.points[key]!;
      const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toPrecision(3));
      return [s.label, p.medianRps.toFixed(0), p.vsNginx === null ? '-' : `${p.vsNginx.toFixed(2)}×`, p.vsNodeHttp === null ? '-' : `${p.vsNodeHttp.toFixed(2)}×`, `${ms(p.p50ms)} / ${ms(p.p99ms)}`, p.clientUsPerRequest.toFixed(1), String(p.failed)];
    });
    sections.push(`### ${file}, ${ka === 'k' ? 'keep-alive' : 'a connection per request'}, ${conns} connections`, '', markdownTable(['server', 'requests/s (median)', 'vs nginx', 'vs node:http', 'latency ms, p50 / p99', 'ab CPU µs/request', 'failed'], rows), '');
  }
  // One chart per question: each server's throughput at 64 connections, keep-alive and not, small file.
  const groupOf = (id: string): string => (id === 'nginx' || id === 'node-http' ? 'peer' : id.startsWith('native') ? 'native kernel' : 'os kernel');
  const charts = keys
    .filter((k) => k.endsWith('|64') && k.startsWith(keys[0]!.split('|')[0]!))
    .map((key) => {
      const [file, ka] = key.split('|');
      return barChart({
        id: `${ka === 'k' ? 'keepalive' : 'close'}-64`,
        title: `httpd: ${file}, ${ka === 'k' ? 'keep-alive' : 'a connection per request'}, 64 connections (requests/s, median)`,
        axis: 'requests per second',
        bars: r.servers.map((s) => ({ label: s.label, value: s.points[key]!.medianRps, group: groupOf(s.id) })),
      });
    });
  const { machine } = r;
  const markdown = [
    `# httpd: ${r.date.slice(0, 10)}`,
    '',
    `ApacheBench against each server, ${r.secondsPerRun} s per point, median of ${r.rounds} rounds (servers interleaved). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}; ab runs on the same machine and its CPU per request is shown.`,
    '',
    ...sections,
    ...chartSection('httpd', charts),
    'Command: `npm run bench -- httpd`',
  ].join('\n');
  return { markdown, plot: '', charts };
}

export const httpd: Suite<HttpdResults> = { measure, render };
