// End to end: `flexvm run` of one guest on the native kernel runs it on the CLI's main thread
// (docs/startup.md), through the command's real entry (build/host/cli/entry.js, what dist/cli.js
// bundles: the start-up plan, Liftoff kept). What the CLI promises must hold as for a guest on a
// worker (FLEXVM_GUEST_THREAD=worker): output, exit statuses, streamed standard input and output
// with back-pressure, and the signals: the first Ctrl-C or SIGTERM asks the guest to stop, a second
// exits 137 at once, a guest that does not stop is ended after the grace period (137).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { ROOT, guestPath } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';

const CLI = join(ROOT, 'build/host/cli/entry.js');
const EXIT = guestPath('tests/guests/exit');
const CAT = guestPath('tests/guests/stdin-cat');
const STUBBORN = guestPath('tests/guests/stubborn');
const ntest = nativeTest();
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-main-thread-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs the CLI; `input` is its standard input through a real pipe (`cat FILE |`: Node's own 'pipe'
 * is a socket, which the CLI does not read); `signals` are sent, each `afterMs` after the guest
 * printed `ready` (or the previous signal).
 */
function flexvm(args: readonly string[], opts: { input?: Buffer; signals?: readonly NodeJS.Signals[]; afterMs?: number; worker?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(opts.worker ? { FLEXVM_GUEST_THREAD: 'worker' } : {}) };
    if (!opts.worker) delete env['FLEXVM_GUEST_THREAD'];
    let c;
    if (opts.input) {
      const input = join(tmp, 'input');
      writeFileSync(input, opts.input);
      const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
      c = spawn('/bin/sh', ['-c', `cat ${q(input)} | exec ${[process.execPath, CLI, 'run', ...args].map(q).join(' ')}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } else c = spawn(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let t0 = 0;
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    let signalled = false;
    c.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      if (!signalled && opts.signals && Buffer.concat(out).toString().includes('ready\n')) {
        signalled = true;
        void (async () => {
          for (const s of opts.signals!) {
            await new Promise((r) => setTimeout(r, opts.afterMs ?? 300));
            t0 = performance.now();
            c.kill(s);
          }
        })();
      }
    });
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('latin1'), stderr: err, ms: performance.now() - t0 });
    });
  });
}

function expectCode(r: Ran, code: number, what: string): void {
  assert.is(r.code, code, `${what}: exit status (signal ${r.signal})\nstdout:\n${r.stdout.slice(0, 2000)}\nstderr:\n${r.stderr}`);
}

ntest('output, arguments and exit statuses are those of a guest on a worker', async () => {
  for (const args of [[EXIT, 'a', 'b'], [EXIT, '--status', '3'], [EXIT, '--exit', '5']]) {
    const [here, worker] = await Promise.all([flexvm(args), flexvm(args, { worker: true })]);
    expectCode(here, worker.code!, args.join(' '));
    assert.is(here.stdout, worker.stdout, args.join(' '));
  }
});

ntest('streamed standard input and output: 512 KiB through pipes both ways (the kernel waits on full pipes)', async () => {
  const input = Buffer.alloc(512 << 10);
  for (let i = 0; i < input.length; i++) input[i] = 97 + (i % 26);
  const r = await flexvm([CAT], { input });
  expectCode(r, 0, 'stdin-cat');
  assert.is(r.stdout.length, input.length);
  assert.ok(r.stdout === input.toString('latin1'), 'the bytes come back unchanged, in order');
});

ntest('Ctrl-C while the guest computes ends it at once (130), with its statistics: it ran on the main thread', async () => {
  const r = await flexvm([STUBBORN, '--compute'], { signals: ['SIGINT'] });
  expectCode(r, 130, 'stubborn --compute');
  assert.match(r.stderr, /stopping guests \(Ctrl-C again to force\)/);
  assert.match(r.stderr, /exited with status 130: interrupted while it computed/);
  assert.match(r.stderr, /flexvm statistics for stubborn/);
});

ntest('Ctrl-C asks the stop; a guest that does not stop is ended after the 2 s grace period (137)', async () => {
  const r = await flexvm([STUBBORN], { signals: ['SIGINT'] });
  expectCode(r, 137, 'stubborn');
  assert.match(r.stderr, /stopping guests \(Ctrl-C again to force\)/);
  assert.match(r.stderr, /exited with status 137: stopped by the host \(did not exit in time\)/);
  assert.match(r.stderr, /flexvm statistics for stubborn/);
  assert.ok(r.ms >= 1900 && r.ms < 6000, `ended ${r.ms.toFixed(0)} ms after the signal`);
});

ntest('a second Ctrl-C exits at once (137)', async () => {
  const r = await flexvm([STUBBORN], { signals: ['SIGINT', 'SIGINT'] });
  expectCode(r, 137, 'stubborn');
  assert.match(r.stderr, /interrupted again, exiting now/);
  assert.ok(r.ms < 1500, `ended ${r.ms.toFixed(0)} ms after the second signal`);
});

// SIGTERM is taken by a helper thread started once the guest has run 200 ms (before, it ends the
// process as it ends any process without a handler): the signals come well after that.
ntest('SIGTERM asks the stop as Ctrl-C does (grace period, 137); a second SIGTERM exits at once', async () => {
  const once = await flexvm([STUBBORN], { signals: ['SIGTERM'], afterMs: 1500 });
  const twice = await flexvm([STUBBORN], { signals: ['SIGTERM', 'SIGTERM'], afterMs: 1500 });
  expectCode(once, 137, 'one SIGTERM');
  assert.match(once.stderr, /stopping guests/);
  assert.match(once.stderr, /did not exit in time/);
  expectCode(twice, 137, 'two SIGTERMs');
  assert.match(twice.stderr, /interrupted again, exiting now/);
});

test.run();
