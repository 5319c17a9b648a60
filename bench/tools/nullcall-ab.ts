// Interleaved A/B of the native kernel's null call (getpid in batches, bench/guests/getpid.wasm):
// each round runs one fresh process per variant, in turn; a process makes RUNS runs of CALLS calls
// and reports the fastest (on 2 shared cores a run lands either where the guest and its syscall thread
// have a core each or where they share one, three times slower: the fastest run is the first case);
// the tool prints each variant's median over the rounds and the per-round ratios to the first variant
// (the machine's load moves every variant alike within a round).
// A variant is `label:KEY=V,KEY=V`: `addon=PATH` loads another build of the addon
// (FLEXVM_NATIVE_ADDON), `guest=PATH` runs another build of the guest, `threads=N` sets the syscall
// threads (default 1), anything else is an environment variable of the process.
// Usage: node build/bench/tools/nullcall-ab.js ROUNDS BATCH CALLS 'label:...;label2:...'
// e.g.   node build/bench/tools/nullcall-ab.js 9 64 1000000 'base:addon=/tmp/base.node;head:'
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.js';
import { GETPID_GUEST as GUEST, runGetpid } from '../lib/getpid-guest.js';

const SELF = fileURLToPath(import.meta.url);
const RUNS = Number(process.env['FLEXVM_AB_RUNS'] ?? 7);

/** The child: one VM on the native kernel, RUNS runs of the guest (each timed by its own clock); prints the fastest run's ns per call. */
async function child(guest: string, batch: number, calls: number, threads: number): Promise<void> {
  const { VM } = await import('../../host/index.js');
  const vm = await VM.create({ kernel: 'native', syscallThreads: threads, mode: 'exceptionless' });
  const ns: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const run = await runGetpid(vm, { guest, calls, batch, warmup: Math.min(calls, 20_000) });
      ns.push(run.guestNsPerCall);
    }
  } finally {
    await vm.close();
  }
  process.stdout.write(`${Math.min(...ns)}\n`);
}

if (process.argv[2] === '--child') {
  const [, , , guest = GUEST, batch = '64', calls = '1000000', threads = '1'] = process.argv;
  await child(guest, Number(batch), Number(calls), Number(threads));
} else {
  const [rounds = '9', batch = '64', calls = '1000000', spec = 'default:'] = process.argv.slice(2);
  const variants = spec.split(';').map((v) => {
    const i = v.indexOf(':');
    const label = i < 0 ? v : v.slice(0, i);
    const kv = Object.fromEntries((i < 0 ? '' : v.slice(i + 1)).split(',').filter(Boolean).map((s) => s.split('=') as [string, string]));
    const { addon, guest, threads, ...env } = kv;
    return { label, addon, guest: guest ?? GUEST, threads: threads ?? '1', env };
  });
  const samples = new Map(variants.map((v) => [v.label, [] as number[]]));
  for (let r = 0; r < Number(rounds); r++) {
    const line: string[] = [];
    for (const v of variants) {
      const env: NodeJS.ProcessEnv = { ...process.env, ...v.env };
      if (v.addon) env['FLEXVM_NATIVE_ADDON'] = v.addon;
      const p = spawnSync(process.execPath, [SELF, '--child', v.guest, batch, calls, v.threads], { env, encoding: 'utf8', timeout: 120_000 });
      const ns = Number(p.stdout.trim());
      if (p.status !== 0 || !Number.isFinite(ns)) throw new Error(`${v.label}: ${p.stderr.slice(-1500)}`);
      samples.get(v.label)!.push(ns);
      line.push(`${v.label} ${ns.toFixed(1)}`);
    }
    console.error(`round ${r + 1}: ${line.join(', ')}`);
  }
  const first = samples.get(variants[0]!.label)!;
  console.log(`null call, batch ${batch}, ${calls} calls x ${RUNS} runs per process (the fastest), ${rounds} rounds (ns per call, median over rounds)`);
  for (const v of variants) {
    const s = samples.get(v.label)!;
    const ratios = s.map((x, i) => x / first[i]!);
    console.log(`${v.label}: ${median(s).toFixed(1)} ns (${Math.min(...s).toFixed(1)}-${Math.max(...s).toFixed(1)}); /${variants[0]!.label} per round ${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(3)}`);
  }
}
