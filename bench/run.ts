// Benchmark runner: `npm run bench -- [suite ...] [--rounds N] [--quick]`. Each suite writes its
// measurements to bench/results/SUITE.json and renders them into SUITE.md (a table and a
// plain-text plot) and SUITE.plot.txt (the plot alone). `--replot` re-renders SUITE.md and
// SUITE.plot.txt from the SUITE.json already there, measuring nothing. Never part of `npm test`.
// Environment: FLEXVM_BENCH_THREADS ("1,2,4,8": syscall-thread counts), FLEXVM_BENCH_RESULTS (where
// results go), FLEXVM_BENCH_SPIN_US (file-io: the syscall threads' idle polling before they sleep).
import { parseArgs } from 'node:util';
import { nullSyscall } from './suites/null-syscall.js';
import { echoTcp } from './suites/echo-tcp.js';
import { fileIo } from './suites/file-io.js';
import { kv } from './suites/kv.js';
import { readResults, writeReport, writeResults, type Suite } from './lib/output.js';

/** Binds a suite to its name, keeping its results type between measuring and rendering. */
function entry<R>(name: string, suite: Suite<R>) {
  const report = (results: R, written: string[]): void => {
    const r = suite.render(results);
    written.push(...writeReport(name, r));
    process.stdout.write(`${r.markdown}\n\nwrote ${written.join(', ')}\n`);
  };
  return {
    async run(opts: { rounds: number; scale: number }): Promise<void> {
      const results = await suite.measure(opts);
      report(results, [writeResults(name, results)]);
    },
    // The JSON is this suite's own output, so its shape is trusted past the name check.
    replot: (): void => report(readResults(name) as R, []),
  };
}

const SUITES: Record<string, ReturnType<typeof entry>> = {
  'null-syscall': entry('null-syscall', nullSyscall),
  'echo-tcp': entry('echo-tcp', echoTcp),
  'file-io': entry('file-io', fileIo),
  kv: entry('kv', kv),
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string' }, quick: { type: 'boolean' }, replot: { type: 'boolean' } },
});
const names = positionals.length ? positionals : Object.keys(SUITES);
const unknown = names.filter((n) => !SUITES[n]);
if (unknown.length) {
  process.stderr.write(`unknown suite(s): ${unknown.join(', ')} (have: ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}
const rounds = Number(values.rounds ?? (values.quick ? 3 : 7));
const scale = values.quick ? 0.2 : 1;
for (const name of names) {
  if (values.replot) SUITES[name]!.replot();
  else await SUITES[name]!.run({ rounds, scale });
}
