// Benchmark runner: `npm run bench -- [suite ...] [--rounds N] [--quick]`. Suites write JSON and a
// Markdown table to bench/results/. Never part of `npm test`.
import { parseArgs } from 'node:util';
import { nullSyscall } from './suites/null-syscall.js';
import { echoTcp } from './suites/echo-tcp.js';
import { fileIo } from './suites/file-io.js';

const SUITES: Record<string, (o: { rounds: number; scale: number }) => Promise<void>> = {
  'null-syscall': nullSyscall,
  'echo-tcp': echoTcp,
  'file-io': fileIo,
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string' }, quick: { type: 'boolean' } },
});
const names = positionals.length ? positionals : Object.keys(SUITES);
const unknown = names.filter((n) => !SUITES[n]);
if (unknown.length) {
  process.stderr.write(`unknown suite(s): ${unknown.join(', ')} (have: ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}
const rounds = Number(values.rounds ?? (values.quick ? 3 : 7));
const scale = values.quick ? 0.2 : 1;
for (const name of names) await SUITES[name]!({ rounds, scale });
