// Benchmark runner: `npm run bench -- [suite ...] [--rounds N] [--quick]` (`--help` says more). Each suite writes its
// measurements to bench/results/SUITE.json and renders them into SUITE.md (a table and a
// plain-text plot) and SUITE.plot.txt (the plot alone). `--replot` re-renders SUITE.md and
// SUITE.plot.txt from the SUITE.json already there, measuring nothing. Either way the suite's table in
// README.md (between its results markers) is rewritten from the same JSON. Never part of `npm test`.
// Environment: FLEXVM_BENCH_THREADS ("1,2,4,8": syscall-thread counts), FLEXVM_BENCH_RESULTS (where
// results go), FLEXVM_BENCH_SPIN_US (file-io: the syscall threads' idle polling before they sleep),
// FLEXVM_BENCH_CONNS ("64": echo-tcp's and httpd's connection counts), FLEXVM_BENCH_ONLY (a regular
// expression: echo-tcp's and httpd's servers to run, by id).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nullSyscall } from './suites/null-syscall.js';
import { echoTcp } from './suites/echo-tcp.js';
import { fileIo } from './suites/file-io.js';
import { httpd } from './suites/httpd.js';
import { instructionCounting } from './suites/instruction-counting.js';
import { startup } from './suites/startup.js';
import { kv } from './suites/kv.js';
import { wasi } from './suites/wasi.js';
import { doorbellFlood } from './suites/doorbell-flood.js';
import { RESULTS_DIR, readResults, writeReport, writeResults, type Suite } from './lib/output.js';
import { firstTable, writeReadmeSection } from './lib/readme.js';

/** Binds a suite to its name, keeping its results type between measuring and rendering. */
function entry<R>(name: string, suite: Suite<R>) {
  const report = async (results: R, written: string[]): Promise<void> => {
    const r = suite.render(results);
    written.push(...(await writeReport(name, r)));
    // The README shows the committed results' table, never typed by hand (not results written elsewhere).
    if (process.env['FLEXVM_BENCH_RESULTS'] === undefined && writeReadmeSection(name, firstTable(r.markdown))) written.push('README.md');
    process.stdout.write(`${r.markdown}\n\nwrote ${written.join(', ')}\n`);
  };
  return {
    async run(opts: { rounds: number; scale: number }): Promise<void> {
      const results = await suite.measure(opts);
      await report(results, [writeResults(name, results)]);
    },
    // The JSON is this suite's own output, so its shape is trusted past the name check.
    replot: (): Promise<void> => report(readResults(name) as R, []),
  };
}

const SUITES: Record<string, ReturnType<typeof entry>> = {
  'null-syscall': entry('null-syscall', nullSyscall),
  'echo-tcp': entry('echo-tcp', echoTcp),
  'file-io': entry('file-io', fileIo),
  httpd: entry('httpd', httpd),
  'instruction-counting': entry('instruction-counting', instructionCounting),
  startup: entry('startup', startup),
  kv: entry('kv', kv),
  wasi: entry('wasi', wasi),
  'doorbell-flood': entry('doorbell-flood', doorbellFlood),
};

const HELP = `Usage: npm run bench -- [SUITE ...] [options]

Suites (all of them when none is named):
  null-syscall   one getpid as the guest sees it: direct, hand-off, exception-less batches
  echo-tcp       64-byte echo round trips over real TCP against a Node net server
  file-io        random 4 KiB pread64s against Node's fs
  httpd          ab against the httpd guest (every real kernel and mode, 1 and 2 syscall threads),
                 a node:http static server and nginx with one worker
  startup        flexvm run of a guest that exits at once, against plain node
  kv             the kv example (memcached protocol) against memcached
  wasi           unmodified WASI programs
  doorbell-flood a guest's getpid latency and the process's CPU, alone and beside a guest ringing its
                 doorbells in a tight loop (os and native kernels)

Options:
  --rounds N     rounds per configuration, interleaved (default 7; 3 with --quick)
  --quick        fewer rounds and shorter runs (a smoke test, not figures to quote)
  --replot       redraw SUITE.md, SUITE.plot.txt and the SVG charts from the SUITE.json already in bench/results/
  -h, --help     this text

Results go to bench/results/ (FLEXVM_BENCH_RESULTS overrides): SUITE.json, SUITE.md, SUITE.plot.txt and
one SVG chart per question (SUITE.CHART.svg, drawn with vega-lite). A progress bar with the time left
shows on a terminal (a line per tenth of the run elsewhere).

Environment:
  FLEXVM_BENCH_THREADS=1,2,4,8   syscall-thread counts (echo-tcp, httpd)
  FLEXVM_BENCH_CONNS=64          connection counts (echo-tcp, httpd)
  FLEXVM_BENCH_ONLY=REGEX        servers to run, by id (echo-tcp, httpd; e.g. "nginx|node-http|native-")
  FLEXVM_BENCH_SPIN_US=N         file-io: the syscall threads' idle polling before they sleep
`;

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { rounds: { type: 'string' }, quick: { type: 'boolean' }, replot: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\nRun 'npm run bench -- --help' for usage.\n`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.rounds !== undefined && !/^[1-9]\d{0,3}$/.test(values.rounds)) {
  process.stderr.write(`bench: --rounds must be an integer from 1 to 9999, got ${JSON.stringify(values.rounds)}\n`);
  process.exit(2);
}
// --replot without names redraws the suites that have results; measuring without names runs them all.
const names = positionals.length ? positionals : Object.keys(SUITES).filter((n) => !values.replot || existsSync(join(RESULTS_DIR, `${n}.json`)));
const unknown = names.filter((n) => !SUITES[n]);
if (unknown.length) {
  process.stderr.write(`bench: unknown suite(s): ${unknown.join(', ')} (have: ${Object.keys(SUITES).join(', ')})\nRun 'npm run bench -- --help' for usage.\n`);
  process.exit(2);
}
const rounds = Number(values.rounds ?? (values.quick ? 3 : 7));
const scale = values.quick ? 0.2 : 1;
for (const name of names) {
  if (values.replot) await SUITES[name]!.replot();
  else await SUITES[name]!.run({ rounds, scale });
}
