// File work spread over syscall threads: random 4 KiB preads from 8 files (64 in flight) by a guest
// on the os kernel, exception-less with 1, 2 and 4 syscall threads (each openat goes to the next
// thread, so descriptors and their reads spread over the threads), in sync and epoll modes, and the
// same reads written directly on Node's fs, side by side; medians over interleaved rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { VM, type Mode } from '../../host/index.js';
import { machineInfo, threadCounts } from '../lib/machine.js';
import { formatNs, markdownTable, median } from '../lib/stats.js';
import { writeResults } from '../lib/output.js';

const GUEST = fileURLToPath(new URL('../../../bench/guests/fileread.wasm', import.meta.url));
const NODE_READ = fileURLToPath(new URL('../tools/node-fileread.js', import.meta.url));
const FILES = 8;
const FILE_SIZE = 1 << 20;

interface Config {
  readonly id: string;
  readonly label: string;
  readonly mode: Mode | null;
  readonly threads: number;
}

const CONFIGS: readonly Config[] = [
  { id: 'node-fs', label: 'Node `fs` (baseline)', mode: null, threads: 0 },
  ...threadCounts([1, 2, 4]).map((t): Config => ({ id: `exceptionless-${t}`, label: `guest, exceptionless, ${t} syscall thread${t > 1 ? 's' : ''}`, mode: 'exceptionless', threads: t })),
  { id: 'sync-1', label: 'guest, sync, 1 syscall thread', mode: 'sync', threads: 1 },
  { id: 'epoll', label: 'guest, epoll (files read synchronously on its thread)', mode: 'epoll', threads: 1 },
];

async function measureGuest(vm: VM, c: Config, dir: string, reads: number): Promise<number> {
  let start = 0;
  let end = 0;
  let text = '';
  const result = await vm.run(GUEST, {
    args: ['--dir', '/data', '--files', String(FILES), '--file-size', String(FILE_SIZE), '--reads', String(reads)],
    dirs: [`${dir}:/data`],
    mode: c.mode!,
    stdout: (d) => {
      const now = performance.now();
      text += Buffer.from(d).toString();
      if (!start && text.includes('start')) start = now;
      if (!end && text.includes('end')) end = now;
    },
  });
  if (result.status !== 0 || !start || !end) throw new Error(`${c.id}: guest failed (${result.status}: ${result.message ?? ''})`);
  return ((end - start) * 1e6) / reads;
}

function measureNode(dir: string, reads: number): number {
  const r = spawnSync(process.execPath, [NODE_READ, '--dir', dir, '--files', String(FILES), '--file-size', String(FILE_SIZE), '--reads', String(reads)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`node-fs baseline failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim()) as { nsPerRead: number }).nsPerRead;
}

export async function fileIo(opts: { rounds: number; scale: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-file-io-'));
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `f${i}`), randomBytes(FILE_SIZE));
  const reads = Math.max(5000, Math.round(100_000 * opts.scale));
  const vms = new Map<string, VM>();
  const samples = new Map<string, number[]>(CONFIGS.map((c) => [c.id, []]));
  try {
    for (const c of CONFIGS) if (c.mode) vms.set(c.id, await VM.create({ kernel: 'os', syscallThreads: c.threads, mode: c.mode }));
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of CONFIGS) {
        const ns = c.mode ? await measureGuest(vms.get(c.id)!, c, dir, reads) : measureNode(dir, reads);
        samples.get(c.id)!.push(ns);
      }
      process.stderr.write(`file-io: round ${round + 1}/${opts.rounds}\n`);
    }
  } finally {
    await Promise.all([...vms.values()].map((vm) => vm.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (id: string): number => median(samples.get(id)!);
  const rows = CONFIGS.map((c) => [c.label, formatNs(med(c.id)), `${Math.round(1e9 / med(c.id)).toLocaleString('en-US')}`, `${(med('node-fs') / med(c.id)).toFixed(2)}×`]);
  const machine = machineInfo();
  const markdown = [
    `# File reads spread over syscall threads: ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Random 4 KiB preads from ${FILES} files of 1 MiB (page cache), 64 in flight, median of ${opts.rounds} rounds. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}.`,
    '',
    markdownTable(['reader', 'per read', 'reads/s', 'vs Node fs'], rows),
    '',
    'Command: `npm run bench -- file-io`',
  ].join('\n');
  const json = { suite: 'file-io', date: new Date().toISOString(), machine, rounds: opts.rounds, reads, configurations: CONFIGS.map((c) => ({ ...c, nsPerRead: samples.get(c.id), medianNs: med(c.id) })) };
  const files = writeResults('file-io', json, markdown);
  process.stdout.write(`${markdown}\n\nwrote ${files.join(', ')}\n`);
}
