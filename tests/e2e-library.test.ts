// End to end: the guest library (guest/flexsc) against the virtual kernel through the embedding API,
// in the three modes with 1, 2 and 4 syscall threads. The guests (tests/guests/syscalls.ts and
// contract.ts) print one `ok`/`not ok` line per check; every check named below must pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIGS, VmPool, assertReport, label, run } from './helpers/e2e.js';

const pool = new VmPool();
test.after(() => pool.close());

/** Checks the syscalls guest must pass: every wrapper's success path and one error path. */
const SYSCALL_CHECKS = [
  'openat', 'openat-enoent', 'write', 'write-ebadf', 'lseek', 'lseek-einval', 'read', 'read-data', 'read-ebadf',
  'pwrite64', 'pread64', 'pread64-data', 'pread64-einval', 'pwrite64-einval', 'fstat', 'fstat-size', 'fstat-mode',
  'fstat-ebadf', 'getdents64', 'getdents64-names', 'getdents64-ino', 'getdents64-type', 'getdents64-end',
  'getdents64-enotdir', 'close', 'close-ebadf', 'pipe2', 'pipe2-einval', 'lseek-espipe', 'sendfile', 'sendfile-offset',
  'sendfile-data', 'sendfile-ebadf', 'socket', 'socket-eafnosupport', 'bind', 'bind-eaddrinuse', 'listen',
  'listen-enotsock', 'accept4', 'accept4-einval', 'accept4-peer-family', 'connect', 'connect-econnrefused',
  'socket-write', 'socket-read', 'shutdown', 'shutdown-eof', 'shutdown-enotconn', 'clock_gettime',
  'clock_gettime-einval', 'clock_gettime-realtime', 'clock_nanosleep', 'clock_nanosleep-einval',
  'clock_nanosleep-abstime-realtime', 'clock_nanosleep-abstime-reached', 'nanosleep', 'nanosleep-einval',
  'sleep-elapsed', 'getpid', 'getpid-ebusy', 'sequence-complete', 'loop-status', 'steps-left', 'nested-handlers',
  'accept-handler-runs', 'connect-handler-runs', 'pending-at-exit',
];

/** Checks of the submission contract, cancellation, throttling, syscallSync and onExit. */
const CONTRACT_CHECKS = [
  'init', 'init-twice', 'handlers-once-with-result', 'refused-ebusy-getpid', 'refused-ebusy-read',
  'refused-no-callback-yet', 'refused-original-result', 'refused-handler-runs', 'null-request-accepted',
  'null-request-completes', 'cancel-read', 'cancel-read-twice', 'cancel-read-ecanceled', 'cancel-read-runs',
  'cancel-idle-einval', 'cancel-read-no-data-lost', 'cancel-timeout', 'cancel-timeout-ecanceled',
  'cancel-timeout-runs', 'cancel-timeout-early', 'syscall-sync-after-post', 'cancel-after-completion',
  'cancel-after-completion-result', 'cancel-after-completion-runs', 'burst-null-accepted', 'burst-completes',
  'syscall-sync-pipes', 'wall-of-reads-progress', 'syscall-sync-getpid', 'syscall-sync-ebadf', 'syscall-sync-close',
  'sequence-complete', 'onexit-status', 'steps-left', 'nested-handlers', 'every-handler-exactly-once',
  'no-handler-inside-submit', 'pending-at-exit',
];

for (const { mode, threads } of CONFIGS) {
  test(label('every syscall wrapper: success and error paths', mode, threads), async () => {
    const o = await run(await pool.get(threads), 'tests/guests/syscalls', { mode });
    assertReport(o, label('syscalls', mode, threads), SYSCALL_CHECKS);
    const s = o.result.stats;
    assert.is(s.mode, mode);
    // Its memory's size at the end: whole 64 KiB pages, at least the 8 it starts with (asconfig.json).
    assert.ok(s.memoryBytes >= 8 * 65536 && s.memoryBytes % 65536 === 0, `memory at the end: ${s.memoryBytes} bytes`);
    // Every call the guest made reached the kernel and came back (none is left in flight).
    for (const name of ['read', 'write', 'pread64', 'pwrite64', 'openat', 'close', 'fstat', 'lseek', 'getdents64', 'pipe2', 'socket', 'bind', 'listen', 'accept4', 'connect', 'shutdown', 'sendfile', 'clock_gettime', 'getpid']) {
      const c = s.bySyscall[name];
      assert.ok(c && c.completed > 0, `${name} reached the kernel`);
      assert.is(c!.completed, c!.submitted, `${name}: every call completed`);
    }
    // Import calls besides the report's own lines (written through WASI fd_write, one import each).
    const switches = s.modeSwitches - s.bySyscall['writev']!.submitted;
    if (mode === 'exceptionless') {
      assert.ok(s.handlers >= 50, `one handler per completed step (${s.handlers})`);
      assert.ok(switches < 10, `exception-less calls are not import calls (${switches} other mode switches)`);
    } else {
      assert.ok(switches > 60, `${mode}: every call is an import call (${switches} other mode switches)`);
    }
  });

  test(label('the submission contract with 64 entries (init(1)): handlers, refusals, cancellation, throttling', mode, threads), async () => {
    const o = await run(await pool.get(threads), 'tests/guests/contract', { mode, args: ['--pages', '1'] });
    assertReport(o, label('contract --pages 1', mode, threads), CONTRACT_CHECKS);
    const s = o.result.stats;
    assert.is(s.bySyscall['getpid']!.completed, s.bySyscall['getpid']!.submitted, 'every getpid of the burst completed');
    assert.ok(s.bySyscall['getpid']!.completed >= 4500, `the burst reached the kernel (${s.bySyscall['getpid']!.completed})`);
    if (mode === 'exceptionless') {
      assert.is(s.threads, 1, 'one page serves one syscall thread');
      assert.ok(s.throttled > 1000, `submissions waited for entries (${s.throttled} throttled)`);
      assert.ok(s.cancellations.requested >= 2, `cancellations went to the host (${s.cancellations.requested})`);
    } else {
      assert.is(s.throttled, 0, `${mode} mode never throttles`);
    }
  });
}

for (const threads of [2, 4]) {
  test(label(`the submission contract with ${threads} pages spread over the syscall threads`, 'exceptionless', threads), async () => {
    const o = await run(await pool.get(threads), 'tests/guests/contract', { mode: 'exceptionless', args: ['--pages', String(threads), '--pipes', '300'] });
    assertReport(o, label(`contract --pages ${threads}`, 'exceptionless', threads), CONTRACT_CHECKS);
    assert.is(o.result.stats.threads, threads);
    const used = o.result.stats.perThread.filter((t) => t.claimed > 0).length;
    assert.is(used, threads, 'every syscall thread took calls from its pages');
    assert.ok(o.result.stats.throttled > 0, 'the wall of reads was throttled');
  });
}

for (const mode of ['exceptionless', 'sync', 'epoll'] as const) {
  test(label('synchronous calls before any init() register the library on first use', mode, 1), async () => {
    const o = await run(await pool.get(1), 'tests/guests/sync-first', { mode });
    assertReport(o, label('sync-first', mode, 1), ['sync-getpid-without-init', 'sync-write-without-init', 'init-after-first-use-ealready', 'async-after-sync']);
  });
}

test.run();
