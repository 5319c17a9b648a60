// Runs a WASI program under node:wasi (the baseline of bench/suites/wasi.ts) in its own process:
// `node node-wasi-run.js FILE.wasm DATA-DIR ARGS...`. Counts the program's WASI calls (every import
// wrapped) and times `_start`; prints {"ms": ..., "calls": ...} on standard output. The program's
// standard output and error go to /dev/null.
import { openSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WASI } from 'node:wasi';

const [file, dir, ...args] = process.argv.slice(2);
const sink = openSync('/dev/null', 'w');
const wasi = new WASI({ version: 'preview1', args: ['syscalls', ...args], env: {}, preopens: { '/data': dir! }, stdout: sink, stderr: sink, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file!));
const imports = wasi.getImportObject() as Record<string, Record<string, (...a: unknown[]) => unknown>>;
let calls = 0;
const preview1 = imports['wasi_snapshot_preview1']!;
for (const name of Object.keys(preview1)) {
  const fn = preview1[name]!;
  preview1[name] = (...a: unknown[]) => {
    calls++;
    return fn(...a);
  };
}
const instance = await WebAssembly.instantiate(module, imports as WebAssembly.Imports);
const start = performance.now();
const status = wasi.start(instance);
const ms = performance.now() - start;
if (status !== 0) {
  process.stderr.write(`exit status ${status}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ ms, calls }) + '\n');
