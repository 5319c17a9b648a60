// Interleaved A/B of the native kernel's switches on the httpd guest (docs/native-kernel.md,
// "Measured choices"): each round starts one fresh server per variant, in turn, and runs
// `ab -k -c CONNS -t SECONDS` on the 64-byte file against it; it prints requests/s, the server's CPU
// time per request (utime + stime from /proc) and the per-round ratios to the first variant.
// Usage: node build/bench/tools/native-ab.js ROUNDS SECONDS CONNS 'label:ENV=V,ENV=V;label2:...' [flexvm run options]
// e.g.   node build/bench/tools/native-ab.js 5 3 64 'capped:;spin2ms:FLEXVM_NATIVE_MAXSPIN_US=2000'
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuUs, startListening } from '../lib/processes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const [rounds = '5', seconds = '3', conns = '64', spec = 'default:', ...extra] = process.argv.slice(2);
const variants = spec.split(';').map((v) => {
  const [label = v, env = ''] = v.split(':');
  return { label, env: Object.fromEntries(env.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string])) };
});
const docroot = mkdtempSync(join(tmpdir(), 'flexvm-native-ab-'));
writeFileSync(join(docroot, 'small.bin'), Buffer.alloc(64, 0x61));

function start(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const args = [`${ROOT}dist/cli.js`, 'run', `${ROOT}examples/httpd/server.wasm`, '--kernel', 'native', ...extra, '--dir', `${docroot}:/www:ro`, '--', '--root', '/www', '--port', '0'];
  return startListening([process.execPath, ...args], env, 30_000);
}

const results = new Map(variants.map((v) => [v.label, { rps: [] as number[], cpu: [] as number[] }]));
try {
  for (let r = 0; r < Number(rounds); r++) {
    for (const v of variants) {
      const s = await start(v.env);
      spawnSync('ab', ['-k', '-q', '-c', '8', '-n', '2000', `http://127.0.0.1:${s.port}/small.bin`]); // warm-up
      const before = cpuUs(s.child.pid!);
      const out = spawnSync('ab', ['-k', '-q', '-r', '-s', '10', '-c', conns, '-t', seconds, '-n', '10000000', `http://127.0.0.1:${s.port}/small.bin`], { encoding: 'utf8' }).stdout ?? '';
      const cpu = cpuUs(s.child.pid!) - before;
      const rps = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const done = Number(/Complete requests:\s+(\d+)/.exec(out)?.[1] ?? 0);
      results.get(v.label)!.rps.push(rps);
      results.get(v.label)!.cpu.push(done ? cpu / done : 0);
      s.child.kill('SIGKILL');
      await new Promise((q) => setTimeout(q, 200));
    }
  }
} finally {
  rmSync(docroot, { recursive: true, force: true });
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
const base = results.get(variants[0]!.label)!;
for (const [label, r] of results) {
  const ratios = r.rps.map((x, i) => (x / base.rps[i]!).toFixed(2)).join(' ');
  console.log(`${label}: requests/s ${r.rps.map(Math.round).join(' ')} (median ${Math.round(median(r.rps))}), server CPU ${median(r.cpu).toFixed(1)} µs/request, per-round ratio to ${variants[0]!.label}: ${ratios}`);
}
