#!/usr/bin/env node
// Compiles every guest program to Wasm with asc (targets and options in asconfig.json): the examples,
// the test guests and the benchmark guests. An entry is any .ts file directly inside
// examples/<name>/, tests/guests/ or bench/guests/ (helper modules go in a lib/ subfolder; examples/lib/
// holds the helpers every example shares and is no guest). A guest is rebuilt when anything in its
// folder, the guest library, examples/lib/ or asconfig.json is newer than its .wasm.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The httpd's Content-Type table is generated from mime-db first (a build product, like the .wasm).
const { generateMime } = await import('./gen-mime.mjs');
generateMime();
const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
const force = process.argv.includes('--force');

const tsFiles = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(dir, f)) : []);
const entries = [
  ...readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'lib')
    .flatMap((d) => tsFiles(join(root, 'examples', d.name))),
  ...tsFiles(join(root, 'tests/guests')),
  ...tsFiles(join(root, 'bench/guests')),
];

const newest = (files) => Math.max(...files.map((f) => statSync(f).mtimeMs));
const allTs = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)) : []);
// examples/lib/ counts for every guest: the test guests import its helpers too.
const shared = newest([...allTs(join(root, 'guest')), ...allTs(join(root, 'examples/lib')), join(root, 'asconfig.json')]);

function stale(entry, out) {
  if (force || !existsSync(out)) return true;
  const deps = newest([...allTs(dirname(entry)), entry]);
  return statSync(out).mtimeMs < Math.max(shared, deps);
}

const jobs = entries.map((entry) => ({ entry, out: entry.replace(/\.ts$/, '.wasm') })).filter((j) => stale(j.entry, j.out));
let failed = 0;

function compile({ entry, out }) {
  return new Promise((resolve) => {
    const args = [asc, relative(root, entry), '--config', 'asconfig.json', '--target', 'release', '-o', relative(root, out)];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) {
        failed++;
        process.stderr.write(`asc failed for ${relative(root, entry)}:\n${err}\n`);
      } else if (/ERROR/.test(err)) process.stderr.write(err);
      resolve();
    });
  });
}

const queue = [...jobs];
const workers = Array.from({ length: Math.max(1, Math.min(availableParallelism(), 4)) }, async () => {
  while (queue.length) await compile(queue.shift());
});
await Promise.all(workers);
if (jobs.length) console.log(`guests: built ${jobs.length - failed} of ${jobs.length}${failed ? `, ${failed} failed` : ''}`);
process.exit(failed ? 1 : 0);
