// The package as a user meets it: `npm pack` of this checkout (already built by `npm test`), the
// tarball installed into a scratch project, then `npx flexvm demo`, `npx flexvm run` of a shipped
// example guest named relative to the package, and a guest scaffolded with `flexvm init`, built
// with the declared toolchain (`npm run build` -> `flexvm build`) and run (`npm start`).
// npm installs from its cache when it can (`--prefer-offline`): CI reaches the npm registry.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers/e2e.js';

const scratch = mkdtempSync(join(tmpdir(), 'flexvm-pkg-'));
const app = join(scratch, 'app');
test.after(() => rmSync(scratch, { recursive: true, force: true }));

/** The environment without the outer `npm test`'s lifecycle variables (they would leak into npm). */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(lifecycle|package|config_(global|prefix|local_prefix))/i.test(k)));

interface Ran {
  readonly code: number;
  readonly out: string;
}

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

function ok(r: Ran, what: string): void {
  assert.is(r.code, 0, `${what}: exit status ${r.code}\n${r.out}`);
}

const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
let tarball = '';

test('npm pack ships the bundle, the example guests and the docs, and no dangling source maps', async () => {
  const r = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
  ok(r, 'npm pack');
  const info = JSON.parse(r.out.slice(r.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const files = info[0]!.files.map((f) => f.path);
  tarball = join(scratch, info[0]!.filename);
  for (const f of ['dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'dist/syscall/syscall-worker.js', 'dist/guest/guest-worker.js', 'examples/echo/server.wasm', 'examples/echo/client.wasm', 'examples/httpd/server.wasm', 'examples/httpd/www/index.html', 'guest/flexsc/index.ts', 'asconfig.json', 'docs/guest-guide.md', 'docs/embedding.md', 'README.md']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.equal(files.filter((f) => f.endsWith('.map')), [], 'no source maps pointing at files the package does not ship');
  for (const f of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
    assert.not.match(readFileSync(join(ROOT, f), 'utf8'), /sourceMappingURL/, `${f} names no source map`);
  }
  assert.ok(!files.some((f) => f.startsWith('tests/') || f.startsWith('build/') || f.startsWith('bench/')), 'no tests, build/ or bench/');
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; peerDependencies: Record<string, string> };
  assert.match(manifest.scripts['prepack']!, /npm run build/, 'prepack builds');
  assert.ok(manifest.peerDependencies['assemblyscript'] && manifest.peerDependencies['@assemblyscript/wasi-shim'], 'the guest toolchain is declared');
});

test('npm install of the tarball: npx flexvm demo and a shipped example guest', async () => {
  rmSync(app, { recursive: true, force: true });
  await sh('mkdir', ['-p', app], scratch);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }) + '\n');
  ok(await sh('npm', ['install', ...NPM_FLAGS, tarball], app), 'npm install flexvm');
  const demo = await sh('npx', ['--no-install', 'flexvm', 'demo'], app, 60_000);
  ok(demo, 'npx flexvm demo');
  assert.match(demo.out, /client \(pid \d+\)/, 'the demo prints its statistics');
  // A shipped guest named relative to the package (not present in the user's folder).
  const run = await sh('npx', ['--no-install', 'flexvm', 'run', 'examples/echo/client.wasm', '--kernel', 'virtual', '--with', 'examples/echo/server.wasm', '--', '--conns', '2', '--messages', '20'], app, 60_000);
  ok(run, 'npx flexvm run examples/echo/client.wasm');
  const examples = await sh('npx', ['--no-install', 'flexvm', 'examples'], app);
  ok(examples, 'npx flexvm examples');
  assert.match(examples.out, /node_modules\/flexvm\/examples\/httpd\/server\.wasm/);
});

test('flexvm init scaffolds a guest project that builds from the package and runs', async () => {
  const init = await sh('npx', ['--no-install', 'flexvm', 'init'], app);
  ok(init, 'npx flexvm init');
  for (const f of ['asconfig.json', 'main.ts']) assert.ok(existsSync(join(app, f)), `init wrote ${f}`);
  assert.match(readFileSync(join(app, 'main.ts'), 'utf8'), /from "flexvm\/guest\/flexsc"/);
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.match(manifest.dependencies['flexvm']!, /\.tgz$/, 'the installed flexvm is kept');
  // Building before the toolchain is installed says what is missing.
  const early = await sh('npm', ['run', 'build', '--silent'], app);
  assert.is.not(early.code, 0);
  assert.match(early.out, /guest toolchain is not installed: assemblyscript, @assemblyscript\/wasi-shim/);
  ok(await sh('npm', ['install', ...NPM_FLAGS], app), 'npm install (the guest toolchain)');
  ok(await sh('npm', ['run', 'build', '--silent'], app), 'npm run build');
  assert.ok(existsSync(join(app, 'main.wasm')), 'main.wasm built');
  const start = await sh('npm', ['start', '--silent', '--', '--', 'tester'], app, 60_000);
  ok(start, 'npm start');
  assert.match(start.out, /hello, tester, from guest pid \d+/);
  assert.ok(readdirSync(app).includes('node_modules'));
});

test.run();
