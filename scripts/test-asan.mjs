#!/usr/bin/env node
// Runs the native kernel's tests against an AddressSanitizer/UBSan build of its addon: builds it
// (native/asan), then runs uvu with the sanitizer runtime preloaded into node (node itself is not
// instrumented, so libasan must come first) and FLEXVM_NATIVE_ADDON pointing at that build.
//   node scripts/test-asan.mjs [uvu pattern]   (default: the native executor's tests, the kernel
//                                              conformance suites (native among their kernels) and the hostile
//                                              guests, on the native kernel)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// LeakSanitizer runs at exit: its reports go to files in `logs`, without changing the exit status,
// and only a leak the addon's own code allocated fails the run. Node leaves hundreds of its own
// allocations to the system at exit, some of them made by V8 when the addon called it (a function
// template, for one): not ours to judge.
const logs = mkdtempSync(join(tmpdir(), 'flexvm-lsan-'));
/** A frame in the addon: its sources (relative to native/build or native/asan/build) or its binary. */
const OURS = / \.\.\/\.\.\/src\/|\/native\/src\/|flexvm_native\.node/;
/** Frames between the allocator and its caller: the C++ library, inlined or not. */
const LIBRARY = /\/usr\/include\/|libstdc\+\+/;
/** Whether a leak report's allocation was made by the addon (its first frame past the allocator and the C++ library). */
function allocatedByAddon(report) {
  const frames = report.split('\n').filter((l) => /^\s+#\d+ /.test(l)).slice(1);
  const caller = frames.find((f) => !LIBRARY.test(f));
  return caller !== undefined && OURS.test(caller);
}
const env = {
  ...process.env,
  LD_PRELOAD: lib,
  ASAN_OPTIONS: `detect_leaks=1:abort_on_error=1:log_path=${join(logs, 'asan')}`,
  LSAN_OPTIONS: 'exitcode=0',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  FLEXVM_NATIVE_ADDON: join(root, 'native', 'asan', 'build', 'Release', 'flexvm_native.node'),
  FLEXVM_REQUIRE_NATIVE: '1',
  // The real-kernel and hostile-guest end-to-end tests run on the native kernel.
  FLEXVM_TEST_REAL_KERNEL: 'native',
};
// Node's natural exit skips LeakSanitizer's check at exit; process.exit() runs it.
const exitHook = 'data:text/javascript,' + encodeURIComponent('process.on("beforeExit", () => process.exit(process.exitCode ?? 0));');
r = run(process.execPath, ['--import', exitHook, join(root, 'node_modules', 'uvu', 'bin.js'), 'build/tests', pattern], env);
let status = r.status ?? 1;
let leaks = 0;
let checked = 0;
for (const f of readdirSync(logs)) {
  const text = readFileSync(join(logs, f), 'utf8');
  if (text.includes('LeakSanitizer')) checked++;
  // A report: "Direct leak of N byte(s) in M object(s) allocated from:" and its stack, up to a blank line.
  for (const block of text.split(/\n\s*\n/)) {
    if (/(Direct|Indirect) leak of/.test(block) && allocatedByAddon(block)) {
      leaks++;
      console.error(block.trim() + '\n');
    }
  }
  // Anything else in these files is an ASan error report: show it (the run has failed already).
  if (!text.includes('LeakSanitizer')) console.error(text);
}
rmSync(logs, { recursive: true, force: true });
if (checked === 0 && status === 0) {
  console.error('test-asan: LeakSanitizer did not run at exit: the leak check is not in effect');
  status = 1;
} else if (leaks > 0) {
  console.error(`test-asan: ${leaks} leak(s) allocated from the addon (above)`);
  status = status || 1;
} else console.log(`test-asan: no leak allocated from the addon (LeakSanitizer ran in ${checked} process(es))`);
process.exit(status);
