// End to end on the os kernel: the httpd example (examples/httpd/server.wasm) serving a real
// directory to real clients (curl, Node `http`, raw sockets) in every mode and with 1, 2 and 4
// syscall threads. GET and HEAD with their headers, directories and index.html, 404, 403 for paths
// that climb above the root (plain and percent-encoded "..", and a symlink leading out, which the
// kernel refuses) and for directories without an index,
// 405 with Allow, 400/414/431/505 for requests that cannot be served, keep-alive and pipelining,
// HTTP/1.0 keep-alive as ApacheBench sends it, a file of several MB sent with sendfile (checksum),
// concurrent clients, and the timeouts: an idle keep-alive connection, a request head that never
// ends, and a client that stops reading a large response are all closed after --idle-ms.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../host/runtime/vm.js';
import { CONFIGS, MODES, VmPool, label, type Running } from './helpers/e2e.js';
import { clientTest, killChildren, patternBytes, runProgram, startServer, within } from './helpers/os-e2e.js';

const pool = new VmPool({ kernel: 'os' });
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-os-httpd-'));
const www = join(tmp, 'www');
test.after.each(killChildren);
test.after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

// The document root, and a file beside it that no request may reach.
const FILES: Record<string, string | Buffer> = {
  'index.html': '<!DOCTYPE html><title>home</title><p>home page</p>\n',
  'hello.txt': 'hello, world\n',
  'style.css': 'body { color: #123; }\n',
  'app.js': 'console.log("hi");\n',
  'data.json': '{"a": 1}\n',
  'pic.png': patternBytes(3000, 11),
  'photo.JPG': patternBytes(2000, 12),
  'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'mod.wasm': Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  'archive.tar': patternBytes(100, 13),
  'with space.txt': 'spaced out\n',
  'sub/index.html': '<p>sub index</p>\n',
  'sub/page.html': '<p>sub page</p>\n',
  'empty/.keep': '',
  'big.bin': patternBytes(6 * 1024 * 1024 + 123, 14),
};
for (const [name, content] of Object.entries(FILES)) {
  mkdirSync(join(www, name, '..'), { recursive: true });
  writeFileSync(join(www, name), content);
}
writeFileSync(join(tmp, 'secret.txt'), 'top secret\n');
// A symlink out of the root: the guest's path checks pass, the kernel's sandbox refuses it.
symlinkSync(join(tmp, 'secret.txt'), join(www, 'escape.txt'));
// 64 MiB of zeros (sparse: no disk): far more than the socket buffers between server and client hold.
const HUGE = 64 * 1024 * 1024;
writeFileSync(join(www, 'zeros.bin'), '');
truncateSync(join(www, 'zeros.bin'), HUGE);
const BIG_SHA = createHash('sha256').update(FILES['big.bin']!).digest('hex');

function body(name: string): Buffer {
  const c = FILES[name]!;
  return typeof c === 'string' ? Buffer.from(c) : c;
}

async function httpd(mode: Mode, threads: number, args: readonly string[] = []): Promise<{ server: Running; port: number }> {
  return startServer(await pool.get(threads), 'examples/httpd/server', {
    mode,
    dirs: [`${www}:/www`],
    args: ['--root', '/www', '--port', '0', ...args],
    timeoutMs: 30_000,
  });
}

async function stop(server: Running, what: string) {
  server.guest.kill();
  const o = await server.done;
  assert.is(o.status, 130, `${what}: the server ran until stopped\n${o.stderr}`);
  return o;
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Splits what a connection received into responses (`methods` says which had no body: HEAD), and
 * returns the rest.
 */
function parseResponses(data: Buffer, methods: readonly string[]): { responses: Response[]; rest: Buffer } {
  const responses: Response[] = [];
  let at = 0;
  for (const method of methods) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) .+$/.exec(lines[0]!);
    assert.ok(m, `status line: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length']);
    assert.ok(Number.isInteger(length), `Content-Length of every response: ${lines.join(' | ')}`);
    const start = end + 4;
    const n = method === 'HEAD' ? 0 : length;
    if (data.length < start + n) break;
    responses.push({ status: Number(m![1]), headers, body: data.subarray(start, start + n) });
    at = start + n;
  }
  return { responses, rest: data.subarray(at) };
}

/** Sends `raw` on a fresh connection and reads until the server closes it (or `timeoutMs`). */
async function exchange(port: number, raw: string | Buffer, timeoutMs = 5_000): Promise<{ data: Buffer; error: string }> {
  const s = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  let error = '';
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.write(raw);
  await within(closed, timeoutMs, `the server closes after ${JSON.stringify(String(raw).slice(0, 60))}`);
  return { data: Buffer.concat(chunks), error };
}

// ---------------------------------------------------------------- curl

const curlTest = clientTest('curl', 'e2e-os-httpd');

interface CurlResult {
  code: number;
  connects: number;
  size: number;
  type: string;
}

/** One curl process fetching `paths` in turn over one kept-alive connection. */
async function curlMany(port: number, paths: readonly string[], extra: readonly string[] = []): Promise<CurlResult[]> {
  const args = ['-s', '--path-as-is', ...extra];
  for (const p of paths) args.push('-o', '/dev/null', '-w', '%{http_code} %{num_connects} %{size_download} %{content_type}\\n', `http://127.0.0.1:${port}${p}`);
  const r = await runProgram('curl', args, { timeoutMs: 15_000 });
  assert.is(r.code, 0, `curl: status ${r.code}\n${r.stderr}`);
  return r.stdout
    .toString()
    .trim()
    .split('\n')
    .map((l) => {
      const [code, connects, size, ...type] = l.split(' ');
      return { code: Number(code), connects: Number(connects), size: Number(size), type: type.join(' ') };
    });
}

for (const { mode, threads } of CONFIGS) {
  curlTest(label('httpd with curl: GET, HEAD, 404, 403 for escapes and listings, 405, keep-alive, a 6 MB file', mode, threads), async () => {
    const { server, port } = await httpd(mode, threads);
    const cases: [string, number, number, string][] = [
      ['/', 200, body('index.html').length, 'text/html; charset=utf-8'],
      ['/hello.txt', 200, body('hello.txt').length, 'text/plain; charset=utf-8'],
      ['/style.css', 200, body('style.css').length, 'text/css; charset=utf-8'],
      ['/app.js', 200, body('app.js').length, 'text/javascript; charset=utf-8'],
      ['/data.json?x=1&y=2', 200, body('data.json').length, 'application/json'],
      ['/pic.png', 200, 3000, 'image/png'],
      ['/photo.JPG', 200, 2000, 'image/jpeg'],
      ['/logo.svg', 200, body('logo.svg').length, 'image/svg+xml'],
      ['/mod.wasm', 200, 8, 'application/wasm'],
      ['/archive.tar', 200, 100, 'application/octet-stream'],
      ['/with%20space.txt', 200, body('with space.txt').length, 'text/plain; charset=utf-8'],
      ['/sub/', 200, body('sub/index.html').length, 'text/html; charset=utf-8'],
      ['/sub', 200, body('sub/index.html').length, 'text/html; charset=utf-8'],
      ['/sub/./../sub//page.html', 200, body('sub/page.html').length, 'text/html; charset=utf-8'],
      ['/%73ub/page%2Ehtml', 200, body('sub/page.html').length, 'text/html; charset=utf-8'],
      ['/nope.html', 404, -1, 'text/html; charset=utf-8'],
      ['/hello.txt/', 404, -1, 'text/html; charset=utf-8'],
      ['/sub/nope/', 404, -1, 'text/html; charset=utf-8'],
      ['/empty/', 403, -1, 'text/html; charset=utf-8'],
      ['/../secret.txt', 403, -1, 'text/html; charset=utf-8'],
      ['/%2e%2e/secret.txt', 403, -1, 'text/html; charset=utf-8'],
      ['/sub/%2E%2E/%2e%2e/secret.txt', 403, -1, 'text/html; charset=utf-8'],
      ['/sub/..%2f..%2fsecret.txt', 403, -1, 'text/html; charset=utf-8'],
      ['/escape.txt', 403, -1, 'text/html; charset=utf-8'],
      ['/hello.txt', 200, body('hello.txt').length, 'text/plain; charset=utf-8'],
    ];
    const rs = await curlMany(port, cases.map((c) => c[0]));
    assert.is(rs.length, cases.length);
    rs.forEach((r, i) => {
      const [path, code, size, type] = cases[i]!;
      assert.is(r.code, code, `${path}: status`);
      if (size >= 0) assert.is(r.size, size, `${path}: size`);
      assert.is(r.type, type, `${path}: Content-Type`);
      // One connection for all of them: errors (403, 404) keep it open too.
      assert.is(r.connects, i === 0 ? 1 : 0, `${path}: kept-alive connection reused`);
    });

    const [head, big, del, post] = await Promise.all([
      runProgram('curl', ['-s', '-I', `http://127.0.0.1:${port}/hello.txt`]),
      runProgram('curl', ['-s', `http://127.0.0.1:${port}/big.bin`], { timeoutMs: 15_000 }),
      runProgram('curl', ['-s', '-i', '-X', 'DELETE', `http://127.0.0.1:${port}/hello.txt`]),
      runProgram('curl', ['-s', '-i', '-d', 'a=1', `http://127.0.0.1:${port}/hello.txt`]),
    ]);
    const headText = head.stdout.toString();
    assert.match(headText, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(headText, /\r\nServer: flexvm-httpd\r\n/);
    assert.match(headText, new RegExp(`\\r\\nContent-Length: ${body('hello.txt').length}\\r\\n`));
    assert.ok(headText.endsWith('\r\n\r\n'), 'HEAD: no body');
    assert.is(big.code, 0, big.stderr);
    assert.is(big.stdout.length, FILES['big.bin']!.length, 'big file: length');
    assert.is(createHash('sha256').update(big.stdout).digest('hex'), BIG_SHA, 'big file: checksum');
    for (const r of [del, post]) {
      const t = r.stdout.toString();
      assert.match(t, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
      assert.match(t, /\r\nAllow: GET, HEAD\r\n/);
    }
    // A request with a body the server does not read: answered, then the connection is closed.
    assert.match(post.stdout.toString(), /\r\nConnection: close\r\n/);

    const o = await stop(server, label('httpd (curl)', mode, threads));
    const calls = o.result.stats.bySyscall;
    assert.ok((calls['sendfile']?.completed ?? 0) >= 20, 'bodies sent with sendfile');
    assert.ok((calls['openat']?.completed ?? 0) >= 20 && (calls['fstat']?.completed ?? 0) >= 16, 'files opened and stat-ed');
  });
}

// ---------------------------------------------------------------- Node clients and raw requests

for (const { mode, threads } of CONFIGS) {
  test(label('httpd with Node clients: pipelining, HTTP/1.0 keep-alive, malformed requests, concurrent clients', mode, threads), async () => {
    const { server, port } = await httpd(mode, threads);

    // Pipelining: three requests in one write, answered in order; the last asks to close.
    const piped = await exchange(
      port,
      'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
        'HEAD /data.json HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /sub/page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const p = parseResponses(piped.data, ['GET', 'HEAD', 'GET', 'GET']);
    assert.equal(p.responses.map((r) => r.status), [200, 200, 404, 200], 'pipelined responses in order');
    assert.ok(p.responses[0]!.body.equals(body('hello.txt')));
    assert.is(p.responses[1]!.headers['content-length'], String(body('data.json').length));
    assert.ok(p.responses[3]!.body.equals(body('sub/page.html')));
    assert.equal(p.responses.map((r) => r.headers['connection']), ['keep-alive', 'keep-alive', 'keep-alive', 'close']);
    assert.ok(p.responses.every((r) => r.headers['server'] === 'flexvm-httpd'));
    assert.is(p.rest.length, 0);
    assert.is(piped.error, '', 'closed cleanly (no reset)');

    // HTTP/1.0: kept alive only when asked (ApacheBench's "Connection: Keep-Alive").
    const ten = await exchange(port, 'GET /hello.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /data.json HTTP/1.0\r\n\r\n');
    const t = parseResponses(ten.data, ['GET', 'GET']);
    assert.equal(t.responses.map((r) => [r.status, r.headers['connection']]), [[200, 'keep-alive'], [200, 'close']]);
    assert.ok(t.responses[1]!.body.equals(body('data.json')));

    // Requests that cannot be served: an answer, then the connection is closed.
    const bad: [string | Buffer, number][] = [
      ['GARBAGE\r\n\r\n', 400],
      ['GET /hello.txt\r\n\r\n', 400],
      ['GET /hello.txt HTTP/1.1\r\n\r\n', 400], // no Host
      ['GET hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n', 400],
      ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
      [`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
      [`GET / HTTP/1.1\r\nHost: x\r\n${'X-Filler: abcdefghijklmnopqrstuvwxyz0123456789\r\n'.repeat(400)}\r\n`, 431],
    ];
    const answers = await Promise.all(bad.map(([raw]) => exchange(port, raw)));
    answers.forEach((a, i) => {
      const [raw, status] = bad[i]!;
      const r = parseResponses(a.data, ['GET']).responses[0];
      assert.ok(r, `${JSON.stringify(String(raw).slice(0, 40))}: a response (${a.data.length} bytes, ${a.error})`);
      assert.is(r!.status, status, `${JSON.stringify(String(raw).slice(0, 40))}: status`);
      assert.is(r!.headers['connection'], 'close');
      assert.is(a.error, '', 'closed cleanly, the response not lost to a reset');
    });

    // Concurrent clients, kept-alive connections (8 sockets, 48 requests), and the big file.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const names = ['index.html', 'hello.txt', 'pic.png', 'sub/page.html', 'data.json', 'archive.tar'];
      const get = (path: string): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path, agent }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (d: Buffer) => chunks.push(d));
              res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }));
              res.on('error', reject);
            })
            .on('error', reject);
        });
      const results = await within(Promise.all(Array.from({ length: 48 }, (_, i) => get('/' + names[i % names.length]))), 15_000, 'concurrent requests');
      results.forEach((r, i) => {
        assert.is(r.status, 200);
        assert.ok(r.body.equals(body(names[i % names.length]!)), `body of ${names[i % names.length]}`);
      });
      const big = await within(get('/big.bin'), 15_000, 'big file');
      assert.is(big.headers['content-length'], String(FILES['big.bin']!.length));
      assert.is(createHash('sha256').update(big.body).digest('hex'), BIG_SHA, 'big file checksum');
    } finally {
      agent.destroy();
    }
    await stop(server, label('httpd (node)', mode, threads));
  });
}

// ---------------------------------------------------------------- timeouts

for (const mode of MODES) {
  test(label('httpd --idle-ms: idle keep-alive, an endless head and a client that stops reading are closed', mode, 2), async () => {
    const idleMs = 200;
    const { server, port } = await httpd(mode, 2, ['--idle-ms', String(idleMs)]);

    // Idle after one response: closed about --idle-ms after it.
    const idle = (async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      let data = '';
      s.on('data', (d: Buffer) => (data += d.toString()));
      s.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
      while (!data.endsWith(body('hello.txt').toString())) await once(s, 'data');
      const t0 = Date.now();
      await once(s, 'close');
      return { ms: Date.now() - t0, data };
    })();
    // A head that never ends: closed about --idle-ms after the connection, with no response.
    const slow = (async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      let data = '';
      s.on('data', (d: Buffer) => (data += d.toString()));
      await once(s, 'connect');
      const t0 = Date.now();
      s.write('GET /hello.txt HTTP/1.1\r\n');
      await new Promise((r) => setTimeout(r, idleMs / 2));
      s.write('Host: x\r\n'); // progress on the head does not extend its deadline
      await once(s, 'close');
      return { ms: Date.now() - t0, data };
    })();
    // A client that stops reading a 64 MB response: the stalled sendfile is cancelled after
    // --idle-ms without progress, and the connection closed before the whole body was sent.
    const stalled = (async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      let received = 0;
      let paused = false;
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (received > 65536 && !paused) {
          paused = true;
          s.pause();
        }
      });
      s.write('GET /zeros.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      // Wait until the server must have given up, then read what is left.
      await new Promise((r) => setTimeout(r, idleMs * 4));
      s.resume();
      await once(s, 'close');
      return received;
    })();
    const [a, b, c] = await within(Promise.all([idle, slow, stalled]), 10_000, 'clients');
    assert.match(a.data, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(a.ms >= idleMs - 20 && a.ms < idleMs + 1000, `idle keep-alive connection closed after ${a.ms} ms`);
    assert.is(b.data, '', 'no response to an unfinished head');
    assert.ok(b.ms >= idleMs - 20 && b.ms < idleMs + 1000, `unfinished head closed after ${b.ms} ms`);
    assert.ok(c > 65536 && c < HUGE / 2, `a stalled response is cut (${c} bytes arrived)`);
    // Still serving.
    const ok = await exchange(port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
    assert.is(parseResponses(ok.data, ['GET']).responses[0]?.status, 200);
    const o = await stop(server, label('httpd (timeouts)', mode, 2));
    if (mode === 'exceptionless') assert.ok(o.result.stats.cancellations.won >= 3, JSON.stringify(o.result.stats.cancellations));
  });
}


test.run();
