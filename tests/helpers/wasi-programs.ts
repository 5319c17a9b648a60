// Builds the WASI test programs on demand: C with Debian's clang, lld and wasi-libc
// (`clang --target=wasm32-wasi -O2`, no --sysroot), AssemblyScript with @assemblyscript/wasi-shim.
// Outputs go to build/tests/wasi-programs/ (never committed) and are rebuilt when the source is newer.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './e2e.js';

const OUT = join(ROOT, 'build/tests/wasi-programs');

function fresh(src: string, out: string): boolean {
  return existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs;
}

/** Why C programs cannot be built here, or null when they can. */
export function cToolchainMissing(): string | null {
  const r = spawnSync('clang', ['--target=wasm32-wasi', '-print-libgcc-file-name'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return 'clang is not installed';
  if (!existsSync('/usr/include/wasm32-wasi/stdio.h')) return 'wasi-libc is not installed';
  if (!existsSync(r.stdout.trim())) return 'libclang-rt-dev-wasm32 is not installed';
  return null;
}

/** Compiles tests/guests/wasi-c/NAME.c; returns the .wasm path. */
export function buildC(name: string): string {
  const src = join(ROOT, 'tests/guests/wasi-c', `${name}.c`);
  const out = join(OUT, `${name}.wasm`);
  if (fresh(src, out)) return out;
  mkdirSync(OUT, { recursive: true });
  const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', '-Wno-unused-result', src, '-o', out], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`clang failed for ${name}.c:\n${r.stderr}`);
  return out;
}

/** Compiles tests/guests/wasi-as/NAME.ts with the wasi-shim's asconfig; returns the .wasm path. */
export function buildAs(name: string): string {
  const src = join(ROOT, 'tests/guests/wasi-as', `${name}.ts`);
  const out = join(OUT, `${name}-as.wasm`);
  if (fresh(src, out)) return out;
  mkdirSync(OUT, { recursive: true });
  const asc = join(ROOT, 'node_modules/assemblyscript/bin/asc.js');
  // asc resolves the shim's library folder relative to the working directory: paths from the root.
  const config = 'node_modules/@assemblyscript/wasi-shim/asconfig.json';
  const r = spawnSync(process.execPath, [asc, `tests/guests/wasi-as/${name}.ts`, '--config', config, '-O2', '-o', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`asc failed for ${name}.ts:\n${r.stderr}`);
  return out;
}

/**
 * `test` for tests that need the C toolchain: in CI (.ci/run installs it) a missing one fails each
 * test saying so; elsewhere they are skipped with a note.
 */
export function cTest(file: string): (name: string, fn: () => Promise<void>) => void {
  const why = cToolchainMissing();
  if (why === null) return test;
  if (process.env['CI']) return (name) => test(name, () => assert.unreachable(`${why}: CI must provide it (.ci/run installs clang, lld, wasi-libc and libclang-rt-dev-wasm32)`));
  console.log(`  (${why}: the C tests in ${file} are skipped; CI installs it)`);
  return test.skip;
}

/**
 * A preview 2 command component made from tests/guests/wasi-c/NAME.c: the preview 1 program built
 * with clang, then `jco new` with jco's bundled preview 1 command adapter (`--wasi-command`), at
 * test time. Returns the .component.wasm path.
 */
export async function buildComponent(name: string): Promise<string> {
  const core = buildC(name);
  const out = join(OUT, `${name}.component.wasm`);
  if (fresh(core, out)) return out;
  const { componentNew, preview1AdapterCommandPath } = await import('@bytecodealliance/jco');
  const adapter = readFileSync(preview1AdapterCommandPath());
  const bytes = await componentNew(readFileSync(core), [['wasi_snapshot_preview1', adapter]]);
  writeFileSync(out, bytes);
  return out;
}
