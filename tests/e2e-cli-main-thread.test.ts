// End to end: `flexvm run` of one guest on the native kernel runs it on the CLI's main thread
// (docs/startup.md), through the command's real entry (build/host/cli/entry.js, what dist/cli.js
// bundles: the start-up plan, Liftoff kept). What the CLI promises must hold as for a guest on a
// worker (FLEXVM_GUEST_THREAD=worker): output, exit statuses, streamed standard input and output
// with back-pressure, and the signals (taken by the native addon while the guest blocks the main
// thread): the first Ctrl-C or SIGTERM asks the guest to stop, a second exits 137 at once, a guest
// that does not stop is ended after the grace period (137, statistics), from the guest's first moment.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

let runs = 0;

/**
 * Runs the CLI with its standard output and error in files (a socket there, as Node's own 'pipe'
 * is, keeps the guest on a worker: startup-plan.ts); with `input`, as `cat INPUT | flexvm ... | cat`,
 * real pipes both ways. `signals` are sent, each `afterMs` after the guest printed `ready` (or after
 * the previous signal).
 */
async function flexvm(args: readonly string[], opts: { input?: Buffer; signals?: readonly NodeJS.Signals[]; afterMs?: number; worker?: boolean } = {}): Promise<Ran> {
  const env = { ...process.env, ...(opts.worker ? { FLEXVM_GUEST_THREAD: 'worker' } : {}) };
  if (!opts.worker) delete env['FLEXVM_GUEST_THREAD'];
  const n = runs++;
  const outFile = join(tmp, `out-${n}`);
  const errFile = join(tmp, `err-${n}`);
  const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, 'run', ...args].map(q).join(' ');
  let c;
  if (opts.input) {
    const input = join(tmp, `in-${n}`);
    writeFileSync(input, opts.input);
    c = spawn('/bin/sh', ['-c', `cat ${q(input)} | ${command} 2>${q(errFile)} | cat >${q(outFile)}`], { cwd: ROOT, env, stdio: 'ignore' });
  } else {
    const out = openSync(outFile, 'w');
    const err = openSync(errFile, 'w');
    c = spawn(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, env, stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
  }
  const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    c.on('error', reject);
    c.on('close', (code, signal) => resolve({ code, signal }));
  });
  let t0 = performance.now();
  if (opts.signals) {
    while (!readFileSync(outFile, 'utf8').includes('ready\n')) {
      if (c.exitCode !== null || c.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of opts.signals) {
      await new Promise((r) => setTimeout(r, opts.afterMs ?? 300));
      t0 = performance.now();
      c.kill(s);
    }
  }
  const { code, signal } = await closed;
  clearTimeout(timer);
  return { code, signal, stdout: readFileSync(outFile, 'latin1'), stderr: readFileSync(errFile, 'utf8'), ms: performance.now() - t0 };
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

/** What a stopped run says: its status, the lines the CLI printed, whether statistics followed. */
function said(r: Ran): { code: number | null; signal: NodeJS.Signals | null; lines: string[]; stats: boolean } {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('flexvm: '));
  return { code: r.code, signal: r.signal, lines, stats: /flexvm statistics for stubborn/.test(r.stderr) };
}

// The addon takes Ctrl-C and SIGTERM while the guest runs on the main thread (native/src/
// signal-watcher.cc): from the guest's first moment, whether it sleeps or computes, the CLI does
// what it does for a guest on a worker. Each case runs both ways and must say the same.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  for (const [what, args] of [['sleeps', []], ['computes', ['--compute']]] as const) {
    ntest(`${signal} to a guest that ${what} and does not stop: asked, then ended after the 2 s grace period (137, statistics), as on a worker`, async () => {
      const [here, worker] = await Promise.all([
        flexvm([STUBBORN, ...args], { signals: [signal], afterMs: 20 }),
        flexvm([STUBBORN, ...args], { signals: [signal], afterMs: 20, worker: true }),
      ]);
      expectCode(here, 137, `stubborn ${args.join(' ')}`);
      assert.equal(said(here), said(worker));
      assert.match(here.stderr, /stopping guests \(Ctrl-C again to force\)/);
      assert.match(here.stderr, /exited with status 137: stopped by the host \(did not exit in time\)/);
      assert.ok(said(here).stats, 'statistics printed');
      assert.ok(here.ms >= 1900 && here.ms < 6000, `ended ${here.ms.toFixed(0)} ms after the signal`);
    });

    ntest(`a second ${signal} to a guest that ${what} exits at once (137), as on a worker`, async () => {
      const [here, worker] = await Promise.all([
        flexvm([STUBBORN, ...args], { signals: [signal, signal], afterMs: 300 }),
        flexvm([STUBBORN, ...args], { signals: [signal, signal], afterMs: 300, worker: true }),
      ]);
      expectCode(here, 137, `stubborn ${args.join(' ')}`);
      assert.equal(said(here), said(worker));
      assert.match(here.stderr, /interrupted again, exiting now/);
      assert.ok(here.ms < 1500, `ended ${here.ms.toFixed(0)} ms after the second signal`);
    });
  }

  ntest(`${signal} within 50 ms of the start to a guest that stops when asked: it stops (130), with statistics, as on a worker`, async () => {
    const [here, worker] = await Promise.all([
      flexvm([STUBBORN, '--obey'], { signals: [signal], afterMs: 0 }),
      flexvm([STUBBORN, '--obey'], { signals: [signal], afterMs: 0, worker: true }),
    ]);
    expectCode(here, 130, 'stubborn --obey');
    assert.equal(said(here), said(worker));
    assert.match(here.stderr, /stopping guests/);
    assert.ok(said(here).stats, 'statistics printed');
    assert.ok(here.ms < 1500, `ended ${here.ms.toFixed(0)} ms after the signal`);
  });
}

ntest('Ctrl-C to a guest that sleeps and stops when asked: it stops (its own status), with statistics', async () => {
  const r = await flexvm([STUBBORN, '--obey'], { signals: ['SIGINT'], afterMs: 1500 });
  expectCode(r, 130, 'stubborn --obey');
  assert.match(r.stderr, /stopping guests/);
  assert.match(r.stderr, /flexvm statistics for stubborn/);
  assert.ok(r.ms < 1500, `ended ${r.ms.toFixed(0)} ms after the signal`);
});

test.run();
