// Runs a WASI preview 2 component under jco with @bytecodealliance/preview2-shim, in its own process:
// the peer flexvm's components are compared with (tests/wasi-preview2.test.ts) and measured against
// (bench/suites/wasi.ts). `node jco-preview2-run.js [--measure] FILE.wasm HOST-DIR GUEST-DIR [ARGS...]`
// with the environment variables named by PEER_ENV (comma-separated) passed on.
//   default: the component's standard streams are this process's; it exits with the component's status.
//   --measure: they go to /dev/null, and {"ms": ...} (the time of `run`) is printed at the end.
// jco transpiles the component here (no cache), outside the timing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

const argv = process.argv.slice(2);
const measure = argv[0] === '--measure';
if (measure) argv.shift();
const [file, hostDir, guestDir, ...args] = argv;
const env: Record<string, string> = {};
for (const name of (process.env['PEER_ENV'] ?? '').split(',').filter(Boolean)) env[name] = process.env[name] ?? '';

const out = mkdtempSync(join(tmpdir(), 'flexvm-jco-peer-'));
let instantiateFn: (getCoreModule: (name: string) => WebAssembly.Module, imports: unknown) => Record<string, { run?: () => void }>;
const modules = new Map<string, WebAssembly.Module>();
try {
  const { files } = await transpile(readFileSync(file!), { name: 'component', instantiation: 'sync', quiet: true, noTypescript: true });
  for (const [name, data] of Object.entries(files)) {
    const path = join(out, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    if (name.endsWith('.wasm')) modules.set(name, new WebAssembly.Module(data));
  }
  instantiateFn = (await import(pathToFileURL(join(out, 'component.js')).href)).instantiate;
} finally {
  rmSync(out, { recursive: true, force: true });
}

if (measure) {
  // The shim writes the component's streams to this process's: silence them, keep the result line.
  const realWrite = process.stdout.write.bind(process.stdout);
  const sink = (() => true) as typeof process.stdout.write;
  process.stdout.write = sink;
  process.stderr.write = sink;
  const reallyExit = process.exit.bind(process);
  let start = 0;
  const finish = (status: number): never => {
    const ms = performance.now() - start;
    if (status !== 0) reallyExit(1);
    realWrite(JSON.stringify({ ms }) + '\n');
    return reallyExit(0);
  };
  process.exit = ((code?: number) => finish(code ?? 0)) as typeof process.exit;
  const shim = new WASIShim({ sandbox: { preopens: { [guestDir!]: hostDir! }, env, args: ['component', ...args] } });
  const exports = instantiateFn((name) => modules.get(name)!, shim.getImportObject());
  const run = Object.entries(exports).find(([k]) => k.startsWith('wasi:cli/run@'))?.[1] ?? exports['run'];
  start = performance.now();
  run!.run!();
  finish(0);
} else {
  const shim = new WASIShim({ sandbox: { preopens: { [guestDir!]: hostDir! }, env, args: ['component', ...args] } });
  const exports = instantiateFn((name) => modules.get(name)!, shim.getImportObject());
  const run = Object.entries(exports).find(([k]) => k.startsWith('wasi:cli/run@'))?.[1] ?? exports['run'];
  try {
    run!.run!();
  } catch (err) {
    // jco throws its ComponentError when `run` answers err: the status a command then has is 1.
    if ((err as Error)?.constructor?.name === 'ComponentError') process.exit(1);
    throw err;
  }
}
