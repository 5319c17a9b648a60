// Interleaved A/B of echo servers (the native kernel's switches, or any server): each round starts
// one fresh server per variant, in turn, drives it with bench/tools/echo-load.js (CONNS connections,
// 64-byte messages, SECONDS s) and prints round trips/s, the server's CPU per round trip (utime +
// stime from /proc), the load generator's own CPU (in cores: near 1.0 it is the limit) and the
// per-round ratios to the first variant.
// A variant is `label:KEY=V,...`: `server=node` runs Node's `net` echo server; otherwise the echo
// guest with `kernel=` (native), `mode=` (exceptionless), `threads=` (1); other keys are environment
// variables of the server (FLEXVM_NATIVE_ADDON=..., FLEXVM_NATIVE_YIELD=0). SERVER_CPUS and LOAD_CPUS
// (environment, e.g. 1 and 0) pin the server and the load generator with taskset: the layout of a
// quiet 2-core machine, where the client has one core and the server (guest and syscall threads) the other.
// Usage: node build/bench/tools/echo-ab.js ROUNDS SECONDS CONNS 'label:...;label2:...'
// e.g.   node build/bench/tools/echo-ab.js 5 3 64 'node:server=node;epoll:mode=epoll;xl:'
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOAD = fileURLToPath(new URL('./echo-load.js', import.meta.url));
const NODE_ECHO = fileURLToPath(new URL('./node-echo-server.js', import.meta.url));
const [rounds = '5', seconds = '3', conns = '64', spec = 'node:server=node;xl:'] = process.argv.slice(2);

const variants = spec.split(';').map((v) => {
  const i = v.indexOf(':');
  const label = i < 0 ? v : v.slice(0, i);
  const kv = Object.fromEntries((i < 0 ? '' : v.slice(i + 1)).split(',').filter(Boolean).map((s) => s.split('=') as [string, string]));
  const { server, kernel = 'native', mode = 'exceptionless', threads = '1', ...env } = kv;
  const args =
    server === 'node'
      ? [NODE_ECHO, '0']
      : [`${ROOT}dist/cli.js`, 'run', `${ROOT}examples/echo/server.wasm`, '--kernel', kernel, '--mode', mode, '--syscall-threads', threads, '--', '--port', '0', '--accepts', '16'];
  return { label, args: [process.execPath, ...args], env };
});

/** `cmd` under `taskset -c CPUS` when CPUS is given. */
function pinned(cmd: string[], cpus: string | undefined): string[] {
  return cpus ? ['taskset', '-c', cpus, ...cmd] : cmd;
}

/** CPU time of a process so far, µs (clock ticks of 10 ms). */
function cpuUs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return 0;
  }
}

function start(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const cmd = pinned(args, process.env['SERVER_CPUS']);
    const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no port after 20 s: ${out}`));
    }, 20_000);
    const look = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
}

function load(port: number): Promise<{ rps: number; cpuCores: number }> {
  return new Promise((resolve, reject) => {
    const cmd = pinned([process.execPath, LOAD, '--port', String(port), '--conns', conns, '--seconds', seconds], process.env['LOAD_CPUS']);
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), (Number(seconds) + 20) * 1000);
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

const results = new Map(variants.map((v) => [v.label, { rps: [] as number[], cpu: [] as number[], client: [] as number[] }]));
for (let r = 0; r < Number(rounds); r++) {
  const line: string[] = [];
  for (const v of variants) {
    const s = await start(v.args, v.env);
    try {
      const before = cpuUs(s.child.pid!);
      const res = await load(s.port);
      // The server's CPU includes the load's warm-up (0.5 s), as the round trips do not: per round trip it is an upper bound.
      const cpu = (cpuUs(s.child.pid!) - before) / (res.rps * Number(seconds));
      const m = results.get(v.label)!;
      m.rps.push(res.rps);
      m.cpu.push(cpu);
      m.client.push(res.cpuCores);
      line.push(`${v.label} ${Math.round(res.rps)}/s (server ${cpu.toFixed(1)} µs, client ${res.cpuCores.toFixed(2)} cores)`);
    } finally {
      s.child.kill('SIGTERM');
      await new Promise((res) => s.child.once('exit', res));
    }
  }
  console.error(`round ${r + 1}: ${line.join(', ')}`);
}
const first = results.get(variants[0]!.label)!;
console.log(`echo, ${conns} connections, ${seconds} s per point, ${rounds} rounds (medians)`);
for (const v of variants) {
  const m = results.get(v.label)!;
  const ratios = m.rps.map((x, i) => x / first.rps[i]!);
  console.log(
    `${v.label}: ${Math.round(median(m.rps))} round trips/s, server CPU ${median(m.cpu).toFixed(1)} µs per round trip, client ${median(m.client).toFixed(2)} cores; /${variants[0]!.label} per round ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(3)}`,
  );
}
