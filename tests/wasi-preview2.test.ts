// WASI preview 2 components: made at test time from the C probes with jco's `new` and its bundled
// preview 1 adapter, run by flexvm (transpiled by jco, cached by content hash; the wasi:* interfaces
// served on flexvm's kernels as syscall entries) on every kernel, in both modes and with 1 or 2
// syscall threads, and compared line by line and by exit status with the same component under jco
// with @bytecodealliance/preview2-shim (the peer, in its own process: bench/tools/jco-preview2-run).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM } from '../host/index.js';
import { EXIT_CANNOT_RUN } from '../host/errors.js';
import { inspectModule } from '../host/wasm/module-info.js';
import { programKind } from '../host/wasi/wasi-module.js';
import { glueToFunctionBody } from '../host/wasi/preview2/component-code.js';
import { ROOT } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';
import { buildComponent, cTest } from './helpers/wasi-programs.js';

const CLI = join(ROOT, 'build/host/cli/main.js');
const PEER = join(ROOT, 'build/bench/tools/jco-preview2-run.js');
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-p2-'));
const savedCache = process.env['FLEXVM_CACHE_DIR'];
test.before(() => {
  process.env['FLEXVM_CACHE_DIR'] = join(tmp, 'cache');
});
test.after(() => {
  if (savedCache === undefined) delete process.env['FLEXVM_CACHE_DIR'];
  else process.env['FLEXVM_CACHE_DIR'] = savedCache;
  rmSync(tmp, { recursive: true, force: true });
});
const ctest = cTest('wasi-preview2.test.ts');
const ntest = nativeTest();
const STDIN = 'sixteen bytes in';

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

async function runFlexvm(kernel: 'virtual' | 'os' | 'native', mode: 'exceptionless' | 'sync', threads: number): Promise<Ran> {
  const dir = mkdtempSync(join(tmp, 'data-'));
  const vm = await VM.create({ kernel, syscallThreads: threads, mode });
  let stdout = '';
  let stderr = '';
  try {
    const r = await vm.run(await buildComponent('p2probe'), {
      args: ['one', 'two'],
      env: { PROBE: 'p2' },
      dirs: [`${dir}:/data`],
      stdin: STDIN,
      stdout: (d) => (stdout += Buffer.from(d).toString()),
      stderr: (d) => (stderr += Buffer.from(d).toString()),
    });
    return { status: r.status, stdout, stderr: stderr + (r.message ?? '') };
  } finally {
    await vm.close();
  }
}

let peer: Ran | null = null;
/** The probe under jco with preview2-shim (once). */
async function runPeer(): Promise<Ran> {
  if (peer) return peer;
  const dir = mkdtempSync(join(tmp, 'peer-'));
  const wasm = await buildComponent('p2probe');
  const r = spawnSync(process.execPath, [PEER, wasm, dir, '/data', 'one', 'two'], {
    input: STDIN,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PROBE: 'p2', PEER_ENV: 'PROBE' },
  });
  peer = { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  return peer;
}

/**
 * Where the peer answers differently, and why flexvm follows the specification: the probe's lines
 * that differ (by their first words).
 */
const PEER_DIFFERS: Record<string, string> = {
  'mtime 1300000000 atime 1100000000':
    "preview2-shim's descriptor set-times (futimens) hands Node milliseconds where it takes seconds, so the file gets a time far in the future; flexvm sets what the component asked (the probe set 1100000000 and 1300000000)",
};

test('programKind: a component is told by its header (layer 1), a core module is not one', async () => {
  const bytes = readFileSync(await buildComponent('p2probe').catch(() => join(ROOT, 'build/tests/wasi-programs/p2probe.component.wasm')));
  assert.is(programKind(bytes), 'component');
  assert.is(programKind(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])), 'wasi');
});

test("glueToFunctionBody: jco's two top-level exports become declarations; anything else is refused", () => {
  const body = glueToFunctionBody('"use components";\nexport function instantiate(a) {\n  return a + 1;\n}\nexport const _util = {};\n');
  const instantiate = new Function(body)() as (a: number) => number;
  assert.is(instantiate(1), 2);
  assert.throws(() => glueToFunctionBody("import x from 'y';\nexport function instantiate() {}\n"), /imports a module/);
  assert.throws(() => glueToFunctionBody('export default 1;\n'), /unexpected export/);
  assert.throws(() => glueToFunctionBody('function instantiate() {}\n'), /no instantiate/);
});

ctest('the probe under jco with preview2-shim (the peer) runs', async () => {
  const r = await runPeer();
  assert.match(r.stdout, /argc 3/, r.stderr);
  assert.is(r.status, 1, 'the probe exits with 2 (its argument count); the adapter makes any failure 1');
});

for (const kernel of ['virtual', 'os'] as const) {
  for (const mode of ['exceptionless', 'sync'] as const) {
    for (const threads of [1, 2]) {
      ctest(`the probe component on flexvm (${kernel} kernel, ${mode}, ${threads} syscall thread${threads > 1 ? 's' : ''}): the peer's output and status but for the documented differences`, async () => {
        const [ours, theirs] = [await runFlexvm(kernel, mode, threads), await runPeer()];
        const a = ours.stdout.split('\n');
        const b = theirs.stdout.split('\n');
        assert.is(a.length, b.length, `${ours.stdout}\n---\n${ours.stderr}`);
        const unexplained = a.flatMap((line, i) => (line === b[i] || PEER_DIFFERS[line] ? [] : [`flexvm: ${line} | peer: ${b[i]}`]));
        assert.equal(unexplained, []);
        for (const line of Object.keys(PEER_DIFFERS)) assert.ok(a.includes(line), `flexvm prints ${line}`);
        assert.is(ours.stderr, 'to stderr\n');
        assert.is(ours.status, theirs.status);
      });
    }
  }
}

ntest('the probe component on the native kernel: the same output as on the os kernel', async () => {
  if (spawnSync('clang', ['--version']).error) return;
  const [n, o] = [await runFlexvm('native', 'exceptionless', 2), await runFlexvm('os', 'exceptionless', 2)];
  assert.is(n.stdout, o.stdout, n.stderr);
  assert.is(n.status, 1);
});

let inputs = 0;
/** The CLI with `input` piped in through a shell pipe (a FIFO: what the CLI hands to a WASI program). */
function cli(args: string[], input = ''): Promise<Ran> {
  const file = join(tmp, `stdin-${inputs++}`);
  writeFileSync(file, input);
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', 'f="$1"; shift; cat "$f" | "$@"', 'sh', file, process.execPath, CLI, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

ctest('CLI: a component runs with --stats (its calls are syscall entries), reads piped standard input, and is transpiled once (cached by content hash)', async () => {
  const wasm = await buildComponent('cat');
  const cache = join(tmp, 'cli-cache');
  process.env['FLEXVM_CACHE_DIR'] = cache;
  try {
    const text = 'a line\n'.repeat(500);
    const r = await cli(['run', '--kernel', 'os', '--stats', wasm], text);
    assert.is(r.stdout, text, r.stderr);
    assert.match(r.stderr, new RegExp(`read ${text.length} bytes`));
    assert.match(r.stderr, /read\s+\d+ submitted/);
    assert.match(r.stderr, /write\s+\d+ submitted/);
    assert.is(r.status, 0);
    const entries = readdirSync(join(cache, 'component'));
    const manifest = entries.find((e) => e.endsWith('.json'));
    assert.ok(manifest, `a manifest among ${entries.join(', ')}`);
    const before = statSync(join(cache, 'component', manifest!)).mtimeMs;
    const again = await cli(['run', '--kernel', 'virtual', wasm], 'x');
    assert.is(again.stdout, 'x', again.stderr);
    assert.is(statSync(join(cache, 'component', manifest!)).mtimeMs, before, 'the second run used the cache');
  } finally {
    process.env['FLEXVM_CACHE_DIR'] = join(tmp, 'cache');
  }
});

ctest('a component in epoll mode, and one jco cannot transpile, are refused clearly', async () => {
  const wasm = await buildComponent('cat');
  const epoll = await cli(['run', '--mode', 'epoll', '--kernel', 'virtual', wasm]);
  assert.is(epoll.status, 1);
  assert.match(epoll.stderr, /exceptionless or sync mode/);
  const broken = join(tmp, 'broken.wasm');
  writeFileSync(broken, new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 0xff, 0xff]));
  const r = await cli(['run', broken]);
  assert.is(r.status === 0, false);
  assert.match(r.stderr, /component that cannot be run: jco cannot transpile it/);
});

ctest('a component importing an interface flexvm does not provide (wasi:sockets) is refused, naming it', async () => {
  const info = await inspectModule(readFileSync(await buildComponent('cat')), 'cat');
  assert.ok(info.component);
  const withSockets = { ...info, component: { ...info.component!, imports: [...info.component!.imports, 'wasi:sockets/tcp'] } };
  const vm = await VM.create({ kernel: 'virtual' });
  try {
    const r = await vm.run(withSockets, { stdout: () => {}, stderr: () => {} });
    assert.is(r.status, EXIT_CANNOT_RUN);
    assert.match(r.message ?? '', /does not provide: wasi:sockets\/tcp/);
  } finally {
    await vm.close();
  }
});

test.run();
