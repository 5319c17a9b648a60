#!/usr/bin/env node
// Builds the native kernel's addon (native/) with node-gyp from the headers of the Node that runs
// this script: --nodedir is derived from process.execPath, so nothing is downloaded and it works
// outside npm and with a fresh HOME. node-gyp comes with npm (npm_config_node_gyp during npm's
// scripts; otherwise found beside npm). Run by `npm install`/`npm ci` (the install script).
//
//   node scripts/build-native.mjs            the addon: native/build/Release/flexvm_native.node
//   node scripts/build-native.mjs --asan     with AddressSanitizer and UBSan: native/asan/build/Release/
//   node scripts/build-native.mjs --strict   fail (exit 1) when the build fails; by default a failed
//                                            build only warns: flexvm then runs on the os kernel
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const asan = process.argv.includes('--asan');
const strict = process.argv.includes('--strict') || asan;

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    // npm bundles node-gyp: <prefix>/lib/node_modules/npm/node_modules/node-gyp
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

function fail(message) {
  if (strict) {
    console.error(`build-native: ${message}`);
    process.exit(1);
  }
  console.warn(`flexvm: the native kernel was not built (${message}); flexvm will run on the os kernel`);
  process.exit(0);
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`it needs Linux on x86-64, this is ${process.platform}/${process.arch}`);
const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found (it comes with npm)');
const nodedir = resolve(process.execPath, '..', '..');
if (!existsSync(join(nodedir, 'include', 'node', 'node.h'))) fail(`no Node headers in ${join(nodedir, 'include', 'node')}`);
const dir = asan ? join(root, 'native', 'asan') : join(root, 'native');
// The two binding.gyp files (the addon's and the sanitizer build's) list the sources each: both must
// list every native/src/*.cc, or one build links without a file the other has.
const listed = new Set([...readFileSync(join(dir, 'binding.gyp'), 'utf8').matchAll(/"(?:\.\.\/)?src\/([\w-]+\.cc)"/g)].map((m) => m[1]));
const missing = readdirSync(join(root, 'native', 'src')).filter((f) => f.endsWith('.cc') && !listed.has(f));
if (missing.length) fail(`${join(dir, 'binding.gyp')} does not list ${missing.join(', ')}`);
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, `--directory=${dir}`, '--loglevel=warn', '--jobs=max'], {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) fail(`node-gyp exited with ${r.status ?? r.signal}`);
