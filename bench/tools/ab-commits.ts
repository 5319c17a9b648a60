// Interleaved A/B of two built checkouts of flexvm (a refactoring against the commit before it):
// runs each suite once per side per pair, alternating base and head, each into its own results
// folder, then prints per configuration the medians and the per-pair ratios head/base. The native
// rows are left out (FLEXVM_NATIVE_ADDON points nowhere) so that both sides measure the same thing
// even when only one of them has the native kernel.
// Usage: node build/bench/tools/ab-commits.js BASE_DIR HEAD_DIR PAIRS [suite ...]
//   e.g. node build/bench/tools/ab-commits.js /tmp/base /work/main 3 null-syscall echo-tcp
// Each checkout must be built (npm ci && npm run build); suites run with --quick.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../lib/stats.js';

const [base, head, pairsArg = '3', ...suiteArgs] = process.argv.slice(2);
if (!base || !head) {
  console.error('usage: ab-commits BASE_DIR HEAD_DIR [PAIRS] [suite ...]  (suites: null-syscall, echo-tcp)');
  process.exit(2);
}
const pairs = Number(pairsArg);
const suites = suiteArgs.length ? suiteArgs : ['null-syscall', 'echo-tcp'];
const out = mkdtempSync(join(tmpdir(), 'flexvm-ab-'));
const sides = { base, head } as const;

/** One value per configuration of a suite's results file: ns per call, or round trips per second. */
function values(suite: string, file: string): Map<string, number> {
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    configurations?: { id: string; medianNs: number }[];
    servers?: { id: string; byConnections: Record<string, { medianRps: number }> }[];
  };
  const m = new Map<string, number>();
  if (suite === 'null-syscall') for (const c of r.configurations ?? []) m.set(`${c.id} (ns per call)`, c.medianNs);
  else for (const s of r.servers ?? []) for (const [conns, c] of Object.entries(s.byConnections)) m.set(`${s.id} @${conns} (round trips/s)`, c.medianRps);
  return m;
}

const samples = new Map<string, { base: number[]; head: number[] }>();
for (let pair = 1; pair <= pairs; pair++) {
  for (const suite of suites) {
    for (const side of ['base', 'head'] as const) {
      const dir = join(out, `${side}-${pair}`);
      mkdirSync(dir, { recursive: true });
      const r = spawnSync(process.execPath, ['build/bench/run.js', suite, '--quick'], {
        cwd: sides[side],
        env: { ...process.env, FLEXVM_BENCH_RESULTS: dir, FLEXVM_NATIVE_ADDON: '/nonexistent: the native rows are left out' },
        encoding: 'utf8',
        timeout: 600_000,
      });
      if (r.status !== 0) throw new Error(`${side} ${suite} failed:\n${(r.stderr ?? '').slice(-2000)}`);
      for (const [k, v] of values(suite, join(dir, `${suite}.json`))) {
        const s = samples.get(`${suite}: ${k}`) ?? { base: [], head: [] };
        s[side].push(v);
        samples.set(`${suite}: ${k}`, s);
      }
      console.error(`pair ${pair}: ${side} ${suite} done`);
    }
  }
}
console.log(`A/B, ${pairs} interleaved pairs, results in ${out}`);
for (const [k, s] of samples) {
  if (s.base.length !== s.head.length) continue;
  const ratios = s.head.map((h, i) => h / s.base[i]!);
  console.log(`${k}: base ${median(s.base).toFixed(1)}, head ${median(s.head).toFixed(1)}; head/base per pair ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(2)}`);
}
