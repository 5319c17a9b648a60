// The native addon's signal watcher (native/src/signal-watcher.cc), which takes Ctrl-C and SIGTERM
// while `flexvm run`'s guest blocks the main thread: each case runs in a Node process of its own
// (signal dispositions are the process's), which the test signals as a shell would.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { ROOT } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';

const ntest = nativeTest();
const ADDON_JS = join(ROOT, 'build/host/kernel/native/addon.js');

interface Child {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** The JSON the child printed last. */
  readonly result: Record<string, unknown>;
}

/**
 * Runs `body` (an ES module's text, with `addon` loaded and `ready()` to call) in a new Node; once it
 * prints `ready`, sends each of `signals`, `gapMs` apart.
 */
function child(body: string, signals: readonly NodeJS.Signals[] = [], gapMs = 100): Promise<Child> {
  const script = `
    import { loadNativeAddon, nativeAddonPath } from ${JSON.stringify(ADDON_JS)};
    const addon = loadNativeAddon();
    if (typeof addon === 'string') throw new Error(addon);
    const ready = () => process.stdout.write('ready\\n');
    const done = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    const lines = { stopLine: 'stop\\n', forceLine: 'force\\n' };
    ${body}`;
  const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let sent = false;
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!sent && out.includes('ready\n')) {
      sent = true;
      void (async () => {
        for (const s of signals) {
          await new Promise((r) => setTimeout(r, gapMs));
          c.kill(s);
        }
      })();
    }
  });
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      resolve({ code, signal, stderr: err, result: last ? (JSON.parse(last) as Record<string, unknown>) : {} });
    });
  });
}

ntest('while watched, SIGINT and SIGTERM are the watcher\'s; closed, the handlers before it are back exactly, and no thread is left', async () => {
  const r = await child(`
    const { readdirSync } = await import('node:fs');
    const tasks = () => readdirSync('/proc/self/task').length;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    let heard = 0;
    process.on('SIGINT', () => heard++); // libuv's handler: the one to put back
    const before = tasks();
    for (let i = 0; i < 20; i++) addon.watchSignals({ graceMs: 10_000, ...lines, onForce() {} }).close();
    const after = tasks();
    const w = addon.watchSignals({ graceMs: 10_000, ...lines, onForce() {} });
    let twice = null;
    try { addon.watchSignals({ graceMs: 1, ...lines, onForce() {} }); } catch (e) { twice = e.message; }
    process.kill(process.pid, 'SIGINT');
    process.kill(process.pid, 'SIGTERM');
    for (let i = 0; i < 200 && w.stops() < 2; i++) await sleep(10);
    const stops = w.stops(), forced = w.forced();
    const heardWatched = heard;
    w.close();
    w.close(); // a second close does nothing
    let closed = null;
    try { w.stops(); } catch (e) { closed = e.message; }
    process.kill(process.pid, 'SIGINT');
    for (let i = 0; i < 200 && heard === 0; i++) await sleep(10);
    done({ before, after, twice, stops, forced, heardWatched, heard, closed });
    // Node's own SIGTERM handler is back: it ends the process as the signal does.
    process.kill(process.pid, 'SIGTERM');
    await sleep(5000);
  `);
  const o = r.result;
  assert.is(o.after, o.before, 'threads after 20 watchers started and closed');
  assert.match(String(o.twice), /already/);
  assert.is(o.stops, 2, 'both requests reached the watcher');
  assert.is(o.forced, 1, 'the second forces the end');
  assert.is(o.heardWatched, 0, 'the listener heard nothing while watched');
  assert.is(o.heard, 1, 'the listener hears SIGINT once the watcher is closed');
  assert.match(String(o.closed), /closed/);
  assert.is(r.stderr, 'stop\nforce\n');
  assert.is(r.signal, 'SIGTERM', `the last SIGTERM ends the process as before (${r.code} ${r.stderr})`);
});

ntest('the grace period ends a JavaScript computation: run answers false and the thread goes on', async () => {
  const t0 = performance.now();
  const r = await child(`
    const w = addon.watchSignals({ graceMs: 300, ...lines, onForce() { done({ wrong: 'onForce during run' }); } });
    ready();
    const returned = w.run(() => { for (;;) {} });
    done({ returned, forced: w.forced(), stops: w.stops(), again: w.run(() => { throw new Error('ran'); }) });
    w.close();
  `, ['SIGINT']);
  const o = r.result;
  assert.equal(o, { returned: false, forced: 2, stops: 1, again: false }, r.stderr);
  assert.is(r.stderr, 'stop\n');
  assert.is(r.code, 0);
  assert.ok(performance.now() - t0 >= 300);
});

ntest('a second request ends Wasm that never calls out', async () => {
  // (module (func (export "spin") (loop (br 0))))
  const r = await child(`
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 115, 112, 105, 110, 0, 0, 10, 9, 1, 7, 0, 3, 64, 12, 0, 11, 11]);
    const { spin } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    const w = addon.watchSignals({ graceMs: 60_000, ...lines, onForce() {} });
    ready();
    const returned = w.run(spin);
    done({ returned, forced: w.forced(), stops: w.stops() });
    w.close();
  `, ['SIGTERM', 'SIGINT']);
  assert.equal(r.result, { returned: false, forced: 1, stops: 2 }, r.stderr);
  assert.is(r.stderr, 'stop\nforce\n');
  assert.is(r.code, 0);
});

ntest('a request writes the guest\'s shutdown word and wakes its completions word; exceptions of run pass through', async () => {
  // The sleeper is a worker: the kernel gives a process's signal to its main thread first, whose
  // futex wait the handler would interrupt itself (restarted, it sees the new word: "not-equal").
  // On another thread only the watcher's wake ends the wait (a missing one hangs the test).
  const r = await child(`
    const { Worker } = await import('node:worker_threads');
    const sab = new SharedArrayBuffer(64);
    const i32 = new Int32Array(sab);
    const w = addon.watchSignals({ graceMs: 60_000, ...lines, onForce() {} });
    let bad = null;
    try { w.guest(sab, 62, 12); } catch (e) { bad = e.message; }
    w.guest(sab, 8, 12);
    let thrown = null;
    try { w.run(() => { throw new Error('mine'); }); } catch (e) { thrown = e.message; }
    const sleeper = new Worker(\`
      import { parentPort, workerData } from 'node:worker_threads';
      import { createRequire } from 'node:module';
      const addon = createRequire(import.meta.url)(workerData.path);
      parentPort.postMessage('asleep');
      parentPort.postMessage(addon.wait(workerData.sab, 12, 0, -1));
    \`, { eval: true, workerData: { sab, path: nativeAddonPath() } });
    sleeper.on('message', (m) => {
      if (m === 'asleep') return setTimeout(ready, 200);
      done({ woke: m === 'ok' || m === 'not-equal', shutdown: i32[2], completions: i32[3], stops: w.stops(), forced: w.forced(), bad, thrown });
      w.close();
      sleeper.terminate();
    });
  `, ['SIGINT']);
  assert.equal(r.result, { woke: true, shutdown: 1, completions: 1, stops: 1, forced: 0, bad: 'guest: address out of range', thrown: 'mine' }, r.stderr);
});

ntest('a guest registered after the request gets its shutdown word at once', async () => {
  const r = await child(`
    const sab = new SharedArrayBuffer(64);
    const i32 = new Int32Array(sab);
    const w = addon.watchSignals({ graceMs: 60_000, ...lines, onForce() {} });
    ready();
    while (w.stops() === 0) await new Promise((r) => setTimeout(r, 10));
    w.guest(sab, 8, 12);
    done({ shutdown: i32[2], completions: i32[3] });
    w.close();
  `, ['SIGTERM']);
  assert.equal(r.result, { shutdown: 1, completions: 1 }, r.stderr);
});

for (const [what, signals, kind] of [['the grace period ends', ['SIGINT'], 2], ['a second request comes', ['SIGINT', 'SIGTERM'], 1]] as const) {
  ntest(`outside run, when ${what}, onForce(${kind}) runs on the event loop, once; run then answers false without calling`, async () => {
    const r = await child(`
      let calls = 0;
      const keep = setTimeout(() => {}, 10_000);
      const w = addon.watchSignals({ graceMs: 200, ...lines, onForce(kind) {
        calls++;
        setTimeout(() => {
          let called = false;
          const returned = w.run(() => { called = true; });
          done({ kind, calls, returned, called, forced: w.forced() });
          w.close();
          clearTimeout(keep);
        }, 300);
      } });
      ready();
    `, [...signals]);
    assert.equal(r.result, { kind, calls: 1, returned: false, called: false, forced: kind }, r.stderr);
    assert.is(r.code, 0);
  });
}

test.run();
