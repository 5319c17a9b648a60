#!/usr/bin/env node
// Runs the native kernel's tests against an AddressSanitizer/UBSan build of its addon: builds it
// (native/asan), then runs uvu with the sanitizer runtime preloaded into node (node itself is not
// instrumented, so libasan must come first) and FLEXVM_NATIVE_ADDON pointing at that build.
//   node scripts/test-asan.mjs [uvu pattern]   (default: the native executor's tests, the kernel
//                                              conformance suites (native among their kernels) and the hostile
//                                              guests, on the native kernel)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Not the e2e-os-* suites (their real clients, curl, ab, nc..., inherit LD_PRELOAD and hang) nor, for
// now, e2e-hostile (its hostile guest binds a fixed port, EADDRINUSE on the real kernel after
// test:native in CI): `npm run test:native` runs the e2e-os suites on the normal build, `npm test` e2e-hostile on virtual.
const pattern = process.argv[2] ?? '(native-|kernel-).*\\.test\\.js$';
const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });

let r = run(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--asan']);
if (r.status !== 0) process.exit(r.status ?? 1);
const lib = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
if (!lib || !existsSync(lib)) {
  console.error('test-asan: libasan.so not found (Debian: apt-get install gcc)');
  process.exit(1);
}
const env = {
  ...process.env,
  LD_PRELOAD: lib,
  // Node's own allocations are not ours to judge at exit; memory errors and undefined behaviour are.
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  FLEXVM_NATIVE_ADDON: join(root, 'native', 'asan', 'build', 'Release', 'flexvm_native.node'),
  FLEXVM_REQUIRE_NATIVE: '1',
  // The real-kernel and hostile-guest end-to-end tests run on the native kernel.
  FLEXVM_TEST_REAL_KERNEL: 'native',
};
r = run(process.execPath, [join(root, 'node_modules', 'uvu', 'bin.js'), 'build/tests', pattern], env);
process.exit(r.status ?? 1);
