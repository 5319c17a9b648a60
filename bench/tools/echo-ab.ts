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
import { fileURLToPath } from 'node:url';
import { cpuUs, runJsonTool, startListening } from '../lib/processes.js';
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

function load(port: number): Promise<{ rps: number; cpuCores: number }> {
  const cmd = pinned([process.execPath, LOAD, '--port', String(port), '--conns', conns, '--seconds', seconds], process.env['LOAD_CPUS']);
  return runJsonTool(cmd, (Number(seconds) + 20) * 1000);
}

const results = new Map(variants.map((v) => [v.label, { rps: [] as number[], cpu: [] as number[], client: [] as number[] }]));
for (let r = 0; r < Number(rounds); r++) {
  const line: string[] = [];
  for (const v of variants) {
    const s = await startListening(pinned(v.args, process.env['SERVER_CPUS']), v.env, 20_000);
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
