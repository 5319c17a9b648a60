// End to end on the os kernel: the echo example (examples/echo/server.wasm) serving real TCP
// connections on 127.0.0.1 to real clients (Node `net`, OpenBSD `nc`), in every mode and with 1, 2
// and 4 syscall threads. Data integrity over many concurrent connections with messages far larger
// than the server's buffer (partial reads and writes), client EOF (the server closes), client
// resets (the server survives and keeps serving), a client that does not read while the server
// writes a lot (back-pressure: the client stalls and the server process's memory stays bounded),
// the idle timeout that cancels a pending read (and is reset by activity), the documented backlog
// overflow (connections beyond backlog + 1 are reset, the queued ones are accepted later, in order), and 10,000 concurrent idle connections.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../host/vm/vm.js';
import { CONFIGS, MODES, ROOT, VmPool, assertReport, label, waitFor, type Running } from './helpers/e2e.js';
import { Child, clientTest, killChildren, patternBytes, randomInts, runProgram, startServer, within } from './helpers/os-e2e.js';

const pool = new VmPool({ kernel: 'os' });
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-os-echo-'));
test.after.each(killChildren);
test.after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

const SERVER = 'examples/echo/server';

async function echoServer(mode: Mode, threads: number, args: readonly string[] = []): Promise<{ server: Running; port: number }> {
  return startServer(await pool.get(threads), SERVER, { mode, args: ['--port', '0', ...args], timeoutMs: 30_000 });
}

/**
 * Waits until a server started with --verbose has logged `n` completed closes: a client's 'close'
 * can come before the server's close completion is counted, and stopping it then would lose it.
 */
async function closesLogged(server: Running, n: number): Promise<void> {
  const count = (): number => (server.stderr().match(/echo-server: closed fd \d+ \(/g) ?? []).length;
  await waitFor(() => count() >= n, 10_000).catch(() => assert.unreachable(`${n} closes logged, got ${count()}:\n${server.stderr()}`));
}

/** Stops a server guest: it must still be running (stopped by the host: 130). */
async function stop(server: Running, what: string) {
  server.guest.kill();
  const o = await server.done;
  assert.is(o.status, 130, `${what}: the server ran until stopped\n${o.stderr}`);
  return o;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * One client: writes `data` in pieces of random size (waiting for drain), reads the echo
 * concurrently, checks every byte, then ends its side and expects the server to close (EOF, then
 * close, no error).
 */
async function echoOnce(port: number, data: Buffer, seed: number): Promise<void> {
  const s = await connect(port);
  const chunks: Buffer[] = [];
  let received = 0;
  let failed: Error | null = null;
  s.on('error', (e) => (failed = e));
  const ended = once(s, 'end');
  const closed = new Promise<boolean>((r) => s.once('close', r));
  const all = new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= data.length) resolve();
    });
  });
  const rand = randomInts(seed);
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, rand(1, 48 * 1024));
    if (!s.write(data.subarray(off, off + n))) await once(s, 'drain');
    off += n;
  }
  await all;
  s.end();
  await ended;
  const hadError = await closed;
  assert.is(failed, null, 'no socket error');
  assert.is(hadError, false);
  const back = Buffer.concat(chunks);
  assert.is(back.length, data.length, 'echoed length');
  assert.ok(back.equals(data), 'echoed bytes');
}

for (const { mode, threads } of CONFIGS) {
  test(label('echo: 24 concurrent Node clients, 160 kB each in random pieces, client EOF closes', mode, threads), async () => {
    const { server, port } = await echoServer(mode, threads, ['--verbose']);
    const conns = 24;
    const size = 160 * 1024; // ten times the server's 16 kB buffer: reads and writes come in pieces
    await within(
      Promise.all(Array.from({ length: conns }, (_, i) => echoOnce(port, patternBytes(size, 1000 + i), 77 + i))),
      20_000,
      'clients',
    );
    await closesLogged(server, conns);
    const o = await stop(server, label('echo', mode, threads));
    const stats = o.result.stats;
    assert.is(stats.mode, mode);
    assert.ok((stats.bySyscall['accept4']?.completed ?? 0) >= conns, 'accepted every client');
    assert.ok((stats.bySyscall['read']?.completed ?? 0) >= conns * (size / 16384), 'read in pieces');
    assert.ok((stats.bySyscall['close']?.completed ?? 0) >= conns, 'closed every connection after its EOF');
  });
}

const ncTest = clientTest('nc', 'e2e-os-echo');
for (const { mode, threads } of CONFIGS) {
  ncTest(label('echo with nc clients: 4 x 512 kB through stdin/stdout, -N shuts down after EOF', mode, threads), async () => {
    const { server, port } = await echoServer(mode, threads);
    const inputs = Array.from({ length: 4 }, (_, i) => patternBytes(512 * 1024, 5000 + i));
    const rs = await Promise.all(inputs.map((input) => runProgram('nc', ['-N', '127.0.0.1', String(port)], { input, timeoutMs: 15_000 })));
    rs.forEach((r, i) => {
      assert.is(r.code, 0, `nc ${i}: status (${r.signal ?? ''})\n${r.stderr}`);
      assert.is(r.stdout.length, inputs[i]!.length, `nc ${i}: echoed length`);
      assert.ok(r.stdout.equals(inputs[i]!), `nc ${i}: echoed bytes`);
    });
    await stop(server, label('echo (nc)', mode, threads));
  });
}

for (const mode of MODES) {
  test(label('echo: clients that reset their connections mid-transfer; the server survives and serves the next', mode, 2), async () => {
    const { server, port } = await echoServer(mode, 2, ['--verbose']);
    let exited = false;
    void server.done.then(() => (exited = true));
    const resets = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const s = await connect(port);
        s.on('error', () => {});
        s.write(patternBytes(200_000, 300 + i));
        // Reset once the echo is flowing (i even) or at once (i odd): the server's read or
        // write fails with ECONNRESET or EPIPE and it closes that connection.
        if (i % 2 === 0) await once(s, 'data');
        s.resetAndDestroy();
        await once(s, 'close');
      }),
    );
    assert.is(resets.length, 8);
    await new Promise((r) => setTimeout(r, 50));
    assert.not.ok(exited, 'the server is still running');
    await within(echoOnce(port, patternBytes(100_000, 9), 9), 10_000, 'a client after the resets');
    await closesLogged(server, 9);
    const o = await stop(server, label('echo after resets', mode, 2));
    assert.ok((o.result.stats.bySyscall['close']?.completed ?? 0) >= 9, 'every connection closed');
  });
}

for (const mode of MODES) {
  test(label('echo: a client that does not read while the server writes a lot (back-pressure, bounded memory)', mode, 1), async () => {
    // The server in its own process, so that its memory can be measured alone.
    const child = Child.cli(['run', join(ROOT, `${SERVER}.wasm`), '--mode', mode, '--', '--port', '0']);
    const port = Number((await child.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000))[1]);
    // Warm up (compile the paths), then measure.
    await within(echoOnce(port, patternBytes(1 << 20, 1), 1), 10_000, 'warm-up');
    const before = child.rss();

    const s = await connect(port);
    s.pause(); // never reads: the echo backs up into the server
    let failed: Error | null = null;
    s.on('error', (e) => (failed = e));
    const chunk = 64 * 1024;
    const limit = 256 * 1024 * 1024;
    let offered = 0;
    let stalled = false;
    while (offered < limit) {
      const ok = s.write(patternBytes(chunk, offered / chunk + 1));
      offered += chunk;
      if (!ok) {
        // Flowing data drains within milliseconds; a full pipe never drains.
        const drained = await Promise.race([once(s, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 400))]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    const sent = offered - s.writableLength;
    const grown = child.rss() - before;
    const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
    console.log(`  [${mode}] back-pressure: the client stalled after ${mb(sent)}; the server process grew by ${mb(grown)}`);
    assert.ok(stalled, `the client stalled (offered ${mb(offered)})`);
    assert.ok(sent < 64 * 1048576, `bounded buffering between client and server: ${mb(sent)} taken`);
    assert.ok(grown < 64 * 1048576, `the server's memory stayed bounded: grew by ${mb(grown)}`);

    // Now read: everything the client wrote comes back intact, and the connection closes cleanly.
    const expected = offered;
    let received = 0;
    let mismatch = -1;
    const done = new Promise<void>((resolve) => {
      let pos = 0;
      let current = patternBytes(chunk, 1);
      let index = 1;
      s.on('data', (d: Buffer) => {
        for (let i = 0; i < d.length; i++) {
          if (pos === chunk) {
            current = patternBytes(chunk, ++index);
            pos = 0;
          }
          if (d[i] !== current[pos++] && mismatch < 0) mismatch = received + i;
        }
        received += d.length;
        if (received >= expected) resolve();
      });
    });
    s.resume();
    await within(done, 20_000, 'reading the echo back');
    assert.is(mismatch, -1, 'echoed bytes intact');
    const closed = once(s, 'close');
    s.end();
    await within(closed, 5_000, 'close');
    assert.is(failed, null);
    const r = await child.interrupt();
    assert.is(r.code, 130, child.stderr);
  });
}

/** Resolves when `s` emits `event` or closes (never rejects: errors show as a close with an error). */
function next(s: net.Socket, event: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      s.off(event, done);
      s.off('close', done);
      resolve();
    };
    s.once(event, done);
    s.once('close', done);
  });
}

for (const mode of MODES) {
  test(label('echo: connections that always have data do not starve the others (fairness)', mode, 1), async () => {
    const { server, port } = await echoServer(mode, 1);
    // Four clients stream as fast as the echo comes back, so the server's reads on them always
    // find data waiting.
    let streaming = true;
    const streams = Array.from({ length: 4 }, async (_, i) => {
      const s = await connect(port);
      const closed = new Promise<boolean>((r) => s.once('close', r));
      s.on('error', () => {}); // reported by `closed` (hadError)
      const chunk = patternBytes(64 * 1024, 40 + i);
      let echoed = 0;
      s.on('data', (d: Buffer) => (echoed += d.length));
      let sent = 0;
      while (streaming && !s.destroyed) {
        if (!s.write(chunk)) await next(s, 'drain');
        sent += chunk.length;
      }
      while (echoed < sent && !s.destroyed) await next(s, 'data');
      s.end();
      return { echoed, sent, hadError: await closed };
    });
    const quiet = await connect(port);
    quiet.on('error', () => {});
    const delays: number[] = [];
    try {
      await new Promise((r) => setTimeout(r, 150));
      // Meanwhile a quiet connection sends one message now and then: each is echoed at once.
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        quiet.write(`ping ${i}`);
        const [d] = (await within(once(quiet, 'data'), 3_000, `echo of ping ${i} beside busy connections`)) as [Buffer];
        assert.is(d.toString(), `ping ${i}`);
        delays.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 30));
      }
    } finally {
      streaming = false;
      quiet.end();
    }
    const results = await within(Promise.all(streams), 10_000, 'streams');
    for (const r of results) {
      assert.ok(r.echoed > 0 && r.echoed === r.sent && !r.hadError, `a busy connection was served and closed cleanly: ${JSON.stringify(r)}`);
    }
    assert.ok(Math.max(...delays) < 1_000, `quiet connection's echoes took ${delays.join(', ')} ms`);
    await stop(server, label('echo (fairness)', mode, 1));
  });
}

// The timer and the read it cancels may sit on different syscall threads in exceptionless mode; the
// other modes run every call on one thread.
const IDLE_CONFIGS: readonly [Mode, number][] = [['exceptionless', 1], ['exceptionless', 4], ['sync', 2], ['epoll', 2]];
for (const [mode, threads] of IDLE_CONFIGS) {
  test(label('echo --idle-ms: a silent client is cut by cancelling its read; activity resets the timer', mode, threads), async () => {
    const idleMs = 100;
    const { server, port } = await echoServer(mode, threads, ['--idle-ms', String(idleMs)]);
    const silent = (async () => {
      const s = await connect(port);
      const t0 = Date.now();
      s.on('error', () => {});
      await once(s, 'close');
      return Date.now() - t0;
    })();
    // Busy for more than three idle periods, one message every 40 ms: never cut.
    const active = (async () => {
      const s = await connect(port);
      let failed: unknown = null;
      s.on('error', (e) => (failed = e));
      let closedAt = 0;
      s.once('end', () => (closedAt = Date.now()));
      const t0 = Date.now();
      let lastEcho = 0;
      for (let i = 0; i < 9; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 40));
        s.write(`message ${i}\n`);
        const [d] = (await once(s, 'data')) as [Buffer];
        lastEcho = Date.now();
        assert.is(d.toString(), `message ${i}\n`, 'echo while busy');
      }
      const busyFor = lastEcho - t0;
      assert.is(closedAt, 0, 'not cut while busy');
      await once(s, 'close');
      assert.is(failed, null);
      return { busyFor, closedAfter: closedAt - lastEcho };
    })();
    const [silentMs, a] = await within(Promise.all([silent, active]), 10_000, 'clients');
    assert.ok(silentMs >= idleMs - 5 && silentMs < idleMs + 1000, `silent client cut after ${silentMs} ms`);
    assert.ok(a.busyFor > 3 * idleMs, `busy for ${a.busyFor} ms`);
    assert.ok(a.closedAfter >= idleMs - 15 && a.closedAfter < idleMs + 1000, `active client cut ${a.closedAfter} ms after its last message`);
    const o = await stop(server, label('idle echo', mode, threads));
    const c = o.result.stats.cancellations;
    assert.ok(c.requested >= 2 && c.won >= 2 && c.won + c.lost <= c.requested, `cancellations ${JSON.stringify(c)}`);
  });
}

// The os kernel's own listener emulation (listener.ts): Linux itself drops the SYNs past the backlog
// (the client retries) instead of resetting, so this does not apply to the native kernel.
for (const mode of process.env.FLEXVM_TEST_REAL_KERNEL === 'native' ? [] : MODES) {
  test(label('backlog overflow: backlog + 1 connections wait to be accepted, more are reset (listener.ts)', mode, 1), async () => {
    // A guest that listens with backlog 4 and accepts only when the test says so (a byte on a
    // control connection to this process).
    const controlServer = net.createServer();
    controlServer.listen(0, '127.0.0.1');
    await once(controlServer, 'listening');
    const control = new Promise<net.Socket>((r) => controlServer.once('connection', r));
    try {
      pool.logs.length = 0;
      const vm = await pool.get(1);
      const controlPort = (controlServer.address() as net.AddressInfo).port;
      const { server, port } = await startServer(vm, 'tests/guests/backlog', { mode, args: ['--backlog', '4', '--control', String(controlPort), '--accept', '5'] });
      const ctl = await within(control, 5_000, 'the guest connects to the control server');
      const outcomes: Promise<{ data: string; error: string }>[] = [];
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 10; i++) {
        // A reset may beat the report of the connection itself (connect then fails with ECONNRESET).
        const s = net.connect({ port, host: '127.0.0.1' });
        sockets.push(s);
        outcomes.push(
          new Promise((resolve) => {
            let data = '';
            let error = '';
            s.on('data', (d: Buffer) => (data += d.toString()));
            s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
            s.once('close', () => resolve({ data, error }));
          }),
        );
        await new Promise<void>((r) => {
          s.once('connect', r);
          s.once('close', r);
        });
        await new Promise((r) => setTimeout(r, 10));
      }
      // Give the resets time to arrive: the queued connections stay open.
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(sockets.map((s) => !s.destroyed), [true, true, true, true, true, false, false, false, false, false], 'five queued, the rest reset');
      assert.ok(pool.logs.some((l) => /accept queue full \(backlog 4\); resetting new connections/.test(l)), pool.logs.join('\n'));
      ctl.write('go');
      const results = await within(Promise.all(outcomes), 5_000, 'every connection ended');
      assert.equal(
        results.map((r) => r.data || r.error),
        ['accepted 1\n', 'accepted 2\n', 'accepted 3\n', 'accepted 4\n', 'accepted 5\n', 'ECONNRESET', 'ECONNRESET', 'ECONNRESET', 'ECONNRESET', 'ECONNRESET'],
        'the queued connections are accepted in order and served; the others were reset',
      );
      const o = await server.done;
      assertReport(o, label('backlog guest', mode, 1), ['go', 'accepted']);
    } finally {
      controlServer.close();
    }
  });
}

const MANY = 10_000;
test(`echo: ${MANY} concurrent idle connections, then a fresh client is served and everything closes cleanly [exceptionless, 1 thread]`, async () => {
  // Server and clients in two child processes, each with its own descriptors (each needs about
  // 10,000: their limits are raised to 12,000 if the hard limit allows). 256 pages: room for 14,000
  // pending reads. 1 kB buffers: the memory measured is mostly the connections themselves.
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(hard === 'unlimited' || Number(hard) >= 12_000, `each process needs 12,000 descriptors; the hard limit (ulimit -Hn) is ${hard}`);
  const statsFile = join(tmp, 'many.json');
  const server = Child.cli(['run', join(ROOT, `${SERVER}.wasm`), '--stats-json', statsFile, '--', '--port', '0', '--pages', '256', '--size', '1024', '--backlog', '4096'], { fdLimit: 12_000 });
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000))[1]);
  await within(echoOnce(port, patternBytes(100_000, 3), 3), 10_000, 'warm-up');
  const before = server.rss();
  const holder = new Child([join(ROOT, 'build/tests/helpers/conn-holder.js'), String(port), String(MANY), '1000'], { fdLimit: 12_000, stdin: true });
  const ready = JSON.parse((await holder.waitFor(/^\{"ready".*\}$/m, 60_000, 'stdout'))[0]) as { ready: number; ms: number };
  assert.is(ready.ready, MANY);
  const held = server.rss();
  const perConn = (held - before) / MANY;
  // Every one of them is still served.
  holder.send('ping');
  const pinged = JSON.parse((await holder.waitFor(/^\{"pinged".*\}$/m, 60_000, 'stdout'))[0]) as { pinged: number; ms: number };
  assert.is(pinged.pinged, MANY);
  console.log(
    `  ${MANY} connections accepted and each echoed once in ${ready.ms} ms; server RSS +${(perConn / 1024).toFixed(1)} KiB per idle connection ` +
      `(${(before / 1048576).toFixed(0)} -> ${(held / 1048576).toFixed(0)} MiB); one echo on all of them: ${pinged.ms} ms`,
  );
  assert.ok(perConn < 64 * 1024, `memory per idle connection: ${perConn.toFixed(0)} bytes`);
  // A fresh client beside them.
  await within(echoOnce(port, patternBytes(300_000, 4), 4), 10_000, 'a fresh client');
  // The clients hang up: the server sees 10,000 EOFs and closes every connection.
  holder.send('close');
  const closed = JSON.parse((await holder.waitFor(/^\{"closed".*\}$/m, 60_000, 'stdout'))[0]) as { closed: number; ended: number };
  assert.equal(closed, { ...closed, closed: MANY, ended: MANY });
  assert.is((await holder.exited).code, 0, holder.stderr);
  const r = await server.interrupt();
  assert.is(r.code, 130, server.stderr);
  assert.not.match(server.stderr, /accept: -|accept queue full|error/i);
  const [stats] = JSON.parse(readFileSync(statsFile, 'utf8')) as { stats: { bySyscall: Record<string, { completed: number }> } }[];
  const calls = stats!.stats.bySyscall;
  assert.ok(calls['accept4']!.completed >= MANY + 2, `accepted ${calls['accept4']!.completed}`);
  assert.ok(calls['close']!.completed >= MANY + 2, `closed ${calls['close']!.completed}`);
});


test.run();
