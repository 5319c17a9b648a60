// `flexvm init` and `flexvm build`: writing and compiling guests from the installed package, where
// the repository's own build script and asconfig.json are out of reach.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot, packageVersion } from './package-root.js';
import { UsageError } from './options.js';

/** The guest toolchain a guest author needs (flexvm's peer dependencies). */
const TOOLCHAIN = ['assemblyscript', '@assemblyscript/wasi-shim'] as const;

interface Manifest {
  name?: string;
  version?: string;
  private?: boolean;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/**
 * The compiler options every flexvm guest needs (imported shared memory, threads, the WASI shim),
 * taken from the package's own asconfig.json. Its `extends` names the shim relative to the config
 * file, so the copy written into a project resolves it in that project's node_modules.
 */
function guestAsconfig(): string {
  return readFileSync(join(packageRoot(), 'asconfig.json'), 'utf8');
}

const MAIN_TS = `// A flexvm guest. Every system call is posted to a syscall page and completes later: its handler
// runs from the event loop (flexsc.run()). See the guest guide in node_modules/flexvm/docs/.
import * as flexsc from "flexvm/guest/flexsc";
// The epoll mode resumes the loop through this export: every program re-exports it.
export { flexsc_resume } from "flexvm/guest/flexsc";

let text = new ArrayBuffer(0);

function onWritten(r: flexsc.Request): void {
  if (r.result < 0) process.exit(1);
}

function onPid(r: flexsc.Request): void {
  const who = process.argv.length > 1 ? process.argv[1] : "world";
  text = String.UTF8.encode("hello, " + who + ", from guest pid " + r.result.toString() + "\\n");
  flexsc.write(new flexsc.Request(onWritten), 1, flexsc.ptr(text), text.byteLength);
}

flexsc.getpid(new flexsc.Request(onPid));
flexsc.run();
`;

/**
 * Scaffolds a guest project in `dir` (created if missing): asconfig.json, main.ts, and a
 * package.json (created, or completed without overwriting what is there) whose scripts build and
 * run the guest and whose devDependencies are the guest toolchain. Never overwrites a file.
 */
export function initProject(dir: string, log: (line: string) => void): number {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const own = readJson<Manifest>(join(packageRoot(), 'package.json'));
  const manifestPath = join(root, 'package.json');
  const manifest: Manifest = existsSync(manifestPath)
    ? readJson<Manifest>(manifestPath)
    : { name: basename(root).toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'flexvm-guest', version: '0.1.0', private: true };
  const scripts = (manifest.scripts ??= {});
  scripts['build'] ??= 'flexvm build main.ts';
  scripts['start'] ??= 'flexvm run main.wasm';
  const deps = (manifest.dependencies ??= {});
  if (!deps['flexvm'] && !manifest.devDependencies?.['flexvm']) deps['flexvm'] = `^${packageVersion()}`;
  const dev = (manifest.devDependencies ??= {});
  for (const name of TOOLCHAIN) dev[name] ??= own.peerDependencies?.[name] ?? 'latest';
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  log(`wrote ${manifestPath}`);
  for (const [file, text] of [
    ['asconfig.json', guestAsconfig()],
    ['main.ts', MAIN_TS],
  ] as const) {
    const path = join(root, file);
    if (existsSync(path)) {
      log(`kept ${path} (already there)`);
      continue;
    }
    writeFileSync(path, text);
    log(`wrote ${path}`);
  }
  log(`next: cd ${dir} && npm install && npm run build && npm start`);
  return 0;
}

/** Finds `node_modules/<name>` from `dir` upwards, as Node resolves packages. */
function findPackage(dir: string, name: string): string | null {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(d) === d) return null;
  }
}

/**
 * Compiles a guest with asc and the project's asconfig.json (`flexvm init` writes one). Says
 * clearly what is missing instead of letting asc fail later with a misleading diagnostic (it
 * ignores an `extends` it cannot find).
 */
export async function buildGuest(entry: string, out: string | null, log: (line: string) => void): Promise<number> {
  if (!existsSync(entry)) throw new UsageError(`${entry}: no such file`);
  const cwd = process.cwd();
  const missing = TOOLCHAIN.filter((name) => findPackage(cwd, name) === null);
  if (missing.length) {
    log(`flexvm build: the guest toolchain is not installed: ${missing.join(', ')}`);
    log(`  npm install --save-dev ${missing.join(' ')}   (or start from 'flexvm init')`);
    return 1;
  }
  const config = join(cwd, 'asconfig.json');
  if (!existsSync(config)) {
    log("flexvm build: no asconfig.json here; 'flexvm init' writes one with the options flexvm guests need");
    return 1;
  }
  const extendsPath = readJson<{ extends?: string }>(config).extends;
  if (extendsPath && !existsSync(resolve(cwd, extendsPath))) {
    log(`flexvm build: asconfig.json extends ${extendsPath}, which does not exist (npm install?)`);
    return 1;
  }
  const asc = join(findPackage(cwd, 'assemblyscript')!, 'bin/asc.js');
  const output = out ?? entry.replace(/\.ts$/, '') + '.wasm';
  // The config by its relative name: asc 0.28 ignores an `extends` reached from an absolute --config.
  const args = [asc, entry, '--config', 'asconfig.json', '--target', 'release', '-o', output];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('close', (code) => {
      if (code === 0) log(`built ${output}`);
      done(code ?? 1);
    });
  });
}
