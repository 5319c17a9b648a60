#!/usr/bin/env node
// Runs the test suite with uvu and fails the run unless every registered test passed.
// uvu 0.5.6 returns from a `finally` in its runner: when a test fails and an after.each hook throws
// too, the error is dropped, the rest of the file is skipped and the exit status is 0 ("Passed 0 /
// Total 2"). So the exit status alone cannot be trusted: this also compares the tests that passed
// with the tests registered (skipped ones aside) and fails when they differ.
// Usage: node scripts/test.mjs [PATTERN]   (default: every build/tests/*.test.js)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const pattern = process.argv[2] ?? '\\.test\\.js$';
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const child = spawn(process.execPath, [uvu, 'build/tests', pattern], { stdio: ['inherit', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  out += d.toString();
});
child.on('close', (code, signal) => {
  // eslint-disable-next-line no-control-regex
  const text = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const total = num('Total');
  const passed = num('Passed');
  if (code !== 0 || signal) {
    process.exitCode = code || 1;
    return;
  }
  if (!Number.isFinite(total) || !Number.isFinite(passed)) {
    console.error('test: uvu printed no totals; the run did not finish');
    process.exitCode = 1;
  } else if (passed !== total) {
    console.error(`test: ${passed} of ${total} registered tests passed although uvu exited 0 (an error in a hook was dropped?)`);
    process.exitCode = 1;
  }
});
