// End to end: bad input never crashes the host. Out-of-bounds pointers and lengths get -EFAULT,
// unknown system call numbers get -ENOSYS, a garbage control block is refused with a readable message,
// a guest that traps or aborts ends with status 134 and a message (and one that scribbles over its
// syscall pages ends normally) while another guest of the same VM keeps running and finishes, and
// proc_exit(n) ends a guest with n. In every mode and syscall-thread count.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIGS, VmPool, assertReport, label, run, start, waitFor } from './helpers/e2e.js';

// Hostile guests against the virtual kernel, or the native one (npm run test:asan: its addon under ASan/UBSan).
const pool = new VmPool(process.env.FLEXVM_TEST_REAL_KERNEL === 'native' ? { kernel: 'native' } : {});
const nativeRoot = process.env.FLEXVM_TEST_REAL_KERNEL === 'native' ? mkdtempSync(join(tmpdir(), 'flexvm-hostile-')) : null;
/**
 * The native kernel has no files of its own: the guest's "/" is a granted scratch directory, a fresh
 * one for each run (the syscalls guest creates fixed names, which a second run would find there).
 */
const rootDir = (): { dirs?: string[] } => (nativeRoot ? { dirs: [`${mkdtempSync(join(nativeRoot, 'run-'))}:/`] } : {});
test.after(async () => {
  await pool.close();
  if (nativeRoot) rmSync(nativeRoot, { recursive: true, force: true });
});

const HOSTILE_CHECKS = [
  'init', 'register-twice', 'efault-read', 'efault-read-straddle', 'efault-read-kept-data', 'efault-write',
  'efault-write-straddle', 'efault-write-huge-length', 'efault-write-wrapping', 'efault-writev-base', 'efault-readv-iov',
  'efault-openat-path', 'own-page-last', 'efault-openat-unterminated', 'efault-fstat', 'efault-clock_gettime',
  'efault-pipe2', 'efault-nanosleep', 'efault-nanosleep-wrapping', 'efault-clock_nanosleep-straddle', 'efault-getrandom',
  'pread64-bad-buffer', 'efault-pwrite64', 'efault-sendfile-offset', 'efault-getdents64', 'efault-bind',
  'efault-connect', 'efault-accept4-addr', 'efault-accept4-addrlen', 'enosys-999', 'enosys-511', 'enosys-512',
  'enosys-int-max', 'enosys-negative', 'enosys-clone', 'enosys-waiting-class', 'enosys-syscall-sync',
  'enosys-syscall-sync-negative', 'syscall-import-unposted-returns', 'ebadf-negative-fd', 'ebadf-huge-fd', 'getpid-after', 'sequence-complete',
  'loop-status', 'steps-left', 'nested-handlers',
];

/** What `register` answers for each garbage control block of tests/guests/bad-register.ts. */
const REFUSALS: Record<string, number> = {
  null: -22, misaligned: -22, zeros: -22, foreign: -22, version: -71, pages: -22, size: -22, 'pages-ptr': -14,
  overlap: -22, 'end-of-memory': -14,
};

/** How each way of dying of tests/guests/crash.ts must be reported: status and message. */
const CRASHES: readonly [string, number, RegExp | null][] = [
  ['unreachable', 134, /^guest trapped: unreachable/],
  ['oob', 134, /^guest trapped: memory access out of bounds/],
  ['stack', 134, /^guest trapped: Maximum call stack size exceeded/],
  ['abort', 134, /^abort: deliberate abort in crash\.ts\(7:9\)$/],
  ['assert', 134, /^abort: deliberate assertion in tests\/guests\/crash\.ts/],
  ['index', 134, /^abort: Index out of range/],
  ['env-abort', 134, /^abort: /],
  ['scribble', 0, null],
];

let nextPort = 9000;

for (const { mode, threads } of CONFIGS) {
  test(label('bad pointers get -EFAULT, unknown numbers -ENOSYS', mode, threads), async () => {
    const o = await run(await pool.get(threads), 'tests/guests/hostile', { mode, ...rootDir() });
    assertReport(o, label('hostile', mode, threads), HOSTILE_CHECKS);
  });

  test(label('a garbage control block is refused with a message; the guest exits with its status', mode, threads), async () => {
    const vm = await pool.get(threads);
    const o = await run(vm, 'tests/guests/bad-register', { mode });
    for (const [what, errno] of Object.entries(REFUSALS)) assert.ok(o.stdout.includes(`register ${what} = ${errno}\n`), `${what}: ${o.stdout}`);
    assert.is(o.status, 3);
    assert.match(o.result.message ?? '', /^registration refused: control block at 0x[0-9a-f]+ runs past the end of memory/);
    assert.match(o.stderr, /flexvm: bad-register: registration refused: not a flexvm control block: magic 0x464c457f, expected 0x56584c46/);
    assert.match(o.stderr, /registration refused: guest speaks ABI 2\.0; this host speaks 1\.\d+/);
    assert.match(o.stderr, /registration refused: syscall pages overlap the control block/);
    // After the refusals a proper registration still works, and the refusals no longer explain the end.
    const ok = await run(vm, 'tests/guests/bad-register', { mode, args: ['--then-valid'] });
    assert.ok(ok.stdout.includes('register valid = 0\n'), ok.stdout);
    assert.match(ok.stdout, /getpid = \d+\n/);
    assert.is(ok.status, 3);
    assert.is(ok.result.message, undefined);
  });

  test(label('traps and aborts end with 134 and a message while another guest keeps running', mode, threads), async () => {
    const vm = await pool.get(threads);
    const port = String(nextPort++);
    // A long echo conversation runs through all the crashes.
    const server = await start(vm, 'examples/echo/server', { mode, args: ['--port', port] });
    const client = await start(vm, 'examples/echo/client', { mode, args: ['--port', port, '--conns', '2', '--messages', '400'] });
    const crashes = await Promise.all(CRASHES.map(async ([how]) => run(vm, 'tests/guests/crash', { mode, args: ['--how', how], name: `crash-${how}` })));
    for (let i = 0; i < CRASHES.length; i++) {
      const [how, status, message] = CRASHES[i]!;
      const o = crashes[i]!;
      const context = `${how}: status ${o.status}, message ${o.result.message}\nstdout:\n${o.stdout}\nstderr:\n${o.stderr}`;
      assert.is(o.status, status, context);
      if (message) assert.match(o.result.message ?? '', message, context);
      else assert.is(o.result.message, undefined, context);
      assert.ok(o.stdout.startsWith(`dying: ${how}\n`), context);
      assert.not.match(o.stdout, /survived|the pending read completed/, context);
    }
    const c = await client.done;
    assert.is(c.status, 0, `the other guest: ${c.stdout}${c.stderr}`);
    assert.ok(c.stdout.includes('2 connections x 400 messages'), c.stdout);
    server.guest.kill();
    assert.is((await server.done).status, 130);
    // The VM still serves new guests.
    const after = await run(vm, 'tests/guests/syscalls', { mode, ...rootDir() });
    assertReport(after, label('syscalls after the crashes', mode, threads), ['sequence-complete']);
  });

  test(label('proc_exit(n) ends the guest with n, also with calls in flight', mode, threads), async () => {
    const vm = await pool.get(threads);
    const [seven, wide, zero, hook] = await Promise.all([
      run(vm, 'tests/guests/exit', { mode, args: ['--exit', '7'] }),
      run(vm, 'tests/guests/exit', { mode, args: ['--exit', '300'] }),
      run(vm, 'tests/guests/exit', { mode, args: ['--exit', '0'] }),
      run(vm, 'tests/guests/exit', { mode, args: ['--status', '42'] }),
    ]);
    assert.is(seven.status, 7);
    assert.is(seven.result.message, undefined);
    assert.is(wide.status, 300 & 0xff, 'like a shell, the low byte of the status');
    assert.is(zero.status, 0);
    for (const o of [seven, wide, zero]) assert.not.match(o.stdout, /unexpected|loop status/, o.stdout);
    // The onExit hook's result is the exit status.
    assert.is(hook.status, 42);
    assert.ok(hook.stdout.includes('loop status: 0\n'), hook.stdout);
  });
}

test('a guest stopped by the host ends with 130, also from a blocking wait', async () => {
  const vm = await pool.get(2);
  for (const mode of ['exceptionless', 'sync', 'epoll'] as const) {
    const server = await start(vm, 'examples/echo/server', { mode, args: ['--port', String(nextPort++)] });
    // Once it waits in its loop for connections that never come, stop it.
    await waitFor(() => server.stderr().includes('listening'), 10_000);
    server.guest.kill();
    const s = await server.done;
    assert.is(s.status, 130, `${mode}: ${s.result.message}`);
  }
});

test.run();
