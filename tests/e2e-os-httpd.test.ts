// End to end on the os kernel: the httpd example (examples/httpd/server.wasm) serving a real
// directory to real clients (curl, ApacheBench, Node `http`, raw sockets) in every mode and with 1, 2 and 4
// syscall threads. GET and HEAD with their headers, directories and index.html, 404, 403 for paths
// that climb above the root (plain and percent-encoded "..", and a symlink leading out, which the
// kernel refuses) and for directories without an index,
// 405 with Allow, 400/414/431/505 for requests that cannot be served, keep-alive and pipelining,
// HTTP/1.0 keep-alive as ApacheBench sends it, a file of several MB sent with sendfile (checksum),
// concurrent clients, and the timeouts: an idle keep-alive connection, a request head that never
// ends, and a client that stops reading a large response are all closed after --idle-ms. What caches
// and download tools rely on: a Date on every response (kept current by the server's clock),
// Last-Modified and ETag, conditional requests (If-None-Match, If-Modified-Since: 304) and ranges
// (206, 416, If-Range), with raw requests and with curl (-r, -z).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../host/vm/vm.js';
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
  'cond.bin': patternBytes(1000, 15),
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
// A fixed modification time for the validator tests: Last-Modified: Sun, 13 Sep 2020 12:26:40 GMT.
const MTIME = 1_600_000_000;
utimesSync(join(www, 'cond.bin'), MTIME, MTIME);

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
  // The httpd stops gracefully (finishes what is in flight, exits 0) when the host asks it to,
  // except in the sync mode, where it stops at once (130).
  assert.is(o.status, o.result.stats.mode === 'sync' ? 130 : 0, `${what}: the server ran until stopped\n${o.stderr}`);
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
    // A 304 has no body, and no Content-Length to describe one.
    if (m![1] === '304') assert.is(headers['content-length'], undefined, `304 without Content-Length: ${lines.join(' | ')}`);
    else assert.ok(Number.isInteger(length), `Content-Length of every response: ${lines.join(' | ')}`);
    const start = end + 4;
    const n = method === 'HEAD' || m![1] === '304' ? 0 : length;
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

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** An IMF-fixdate (RFC 9110 5.6.7) that names its weekday right. */
function isHttpDate(d: string | undefined): boolean {
  return d !== undefined && IMF_FIXDATE.test(d) && new Date(d).toUTCString() === d;
}

/** A Date field for a response sent just now (the server's clock ticks once a second). */
function isRecentDate(d: string | undefined): boolean {
  return isHttpDate(d) && Math.abs(Date.parse(d!) - Date.now()) < 10_000;
}

/** A request for `path`, with more header fields. */
function request(method: string, path: string, fields: Record<string, string> = {}): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** Sends requests pipelined on one connection (the last one closes it) and returns the responses. */
async function pipelined(port: number, reqs: readonly [method: string, path: string, fields?: Record<string, string>][]): Promise<Response[]> {
  const raw = reqs.map(([method, path, fields = {}], i) => request(method, path, i === reqs.length - 1 ? { ...fields, Connection: 'close' } : fields)).join('');
  const x = await exchange(port, raw);
  const p = parseResponses(x.data, reqs.map((r) => r[0]));
  assert.is(p.responses.length, reqs.length, `a response to each request (${x.data.length} bytes, ${x.error})`);
  assert.is(p.rest.length, 0, `nothing after the last response: ${JSON.stringify(p.rest.toString('latin1').slice(0, 80))}`);
  return p.responses;
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
      ['/archive.tar', 200, 100, 'application/x-tar'],
      ['/with%20space.txt', 200, body('with space.txt').length, 'text/plain; charset=utf-8'],
      ['/sub/', 200, body('sub/index.html').length, 'text/html; charset=utf-8'],
      ['/sub', 301, -1, 'text/html; charset=utf-8'],
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

    const lastModified = new Date(MTIME * 1000).toUTCString();
    const [head, big, del, post, part, same, older] = await Promise.all([
      runProgram('curl', ['-s', '-I', `http://127.0.0.1:${port}/hello.txt`]),
      runProgram('curl', ['-s', `http://127.0.0.1:${port}/big.bin`], { timeoutMs: 15_000 }),
      runProgram('curl', ['-s', '-i', '-X', 'DELETE', `http://127.0.0.1:${port}/hello.txt`]),
      runProgram('curl', ['-s', '-i', '-d', 'a=1', `http://127.0.0.1:${port}/hello.txt`]),
      // A range, and If-Modified-Since from -z: the file's own date (304), an older one (200).
      runProgram('curl', ['-s', '-D', '-', '-r', '0-99', `http://127.0.0.1:${port}/cond.bin`]),
      runProgram('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-z', lastModified, `http://127.0.0.1:${port}/cond.bin`]),
      runProgram('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-z', new Date((MTIME - 86400) * 1000).toUTCString(), `http://127.0.0.1:${port}/cond.bin`]),
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
    const split = part.stdout.indexOf('\r\n\r\n');
    const partHead = part.stdout.subarray(0, split).toString();
    assert.match(partHead, /^HTTP\/1\.1 206 Partial Content\r\n/);
    assert.match(partHead, /\r\nContent-Range: bytes 0-99\/1000(\r\n|$)/);
    assert.ok(part.stdout.subarray(split + 4).equals(body('cond.bin').subarray(0, 100)), 'curl -r 0-99: the first 100 bytes');
    assert.is(same.stdout.toString(), '304', 'curl -z with the Last-Modified date');
    assert.is(older.stdout.toString(), '200 1000', 'curl -z with an older date');

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
    assert.ok(p.responses.every((r) => isRecentDate(r.headers['date'])), `a current Date on every response: ${p.responses.map((r) => r.headers['date']).join(', ')}`);
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
      assert.ok(isRecentDate(r!.headers['date']), `a Date on a ${status}: ${r!.headers['date']}`);
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

// ---------------------------------------------------------------- validators, conditional requests, ranges

for (const { mode, threads } of CONFIGS) {
  test(label('httpd validators, conditional requests and ranges: Date, Last-Modified, ETag, 304, 206, 416, If-Range', mode, threads), async () => {
    const { server, port } = await httpd(mode, threads);
    const data = body('cond.bin');
    const size = data.length;
    const lastModified = new Date(MTIME * 1000).toUTCString();
    const hour = new Date((MTIME - 3600) * 1000).toUTCString();

    // The validators, the same from one request to the next.
    const [plain, again] = await pipelined(port, [['GET', '/cond.bin'], ['HEAD', '/cond.bin']]);
    assert.is(plain!.status, 200);
    assert.ok(plain!.body.equals(data));
    assert.ok(isRecentDate(plain!.headers['date']), `Date: ${plain!.headers['date']}`);
    assert.is(plain!.headers['last-modified'], lastModified, 'Last-Modified is the file\'s mtime');
    assert.is(plain!.headers['accept-ranges'], 'bytes');
    const etag = plain!.headers['etag']!;
    assert.match(etag, /^"[!#-~]+"$/, 'a strong entity tag');
    assert.is(again!.headers['etag'], etag, 'the same ETag again');
    assert.is(again!.headers['last-modified'], lastModified);

    // Conditional requests, pipelined: a 304 sends no body, so every later response still parses.
    const cond = await pipelined(port, [
      ['GET', '/cond.bin', { 'If-None-Match': etag }],
      ['GET', '/cond.bin', { 'If-None-Match': `"other", W/${etag}` }], // weak comparison
      ['HEAD', '/cond.bin', { 'If-None-Match': '*' }],
      ['GET', '/cond.bin', { 'If-None-Match': '"other"', 'If-Modified-Since': lastModified }], // If-None-Match decides
      ['GET', '/cond.bin', { 'If-Modified-Since': lastModified }],
      ['GET', '/cond.bin', { 'If-Modified-Since': 'Sunday, 13-Sep-20 12:26:40 GMT' }], // rfc850-date
      ['GET', '/cond.bin', { 'If-Modified-Since': hour }],
      ['GET', '/cond.bin', { 'If-Modified-Since': 'yesterday' }],
      ['GET', '/hello.txt'],
    ]);
    assert.equal(cond.map((r) => r.status), [304, 304, 304, 200, 304, 304, 200, 200, 200], 'statuses of the conditional requests');
    for (const r of cond.filter((r) => r.status === 304)) {
      assert.is(r.headers['etag'], etag, '304 with the ETag');
      assert.is(r.headers['last-modified'], lastModified, '304 with Last-Modified');
      assert.ok(isRecentDate(r.headers['date']), '304 with a Date');
      assert.is(r.headers['connection'], 'keep-alive');
    }
    assert.ok(cond[3]!.body.equals(data) && cond[6]!.body.equals(data), 'the whole file when modified');
    assert.ok(cond[8]!.body.equals(body('hello.txt')));

    // A 304 on a kept-alive connection, then the next request once it has arrived.
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(request('GET', '/cond.bin', { 'If-None-Match': etag }));
    await within(
      (async () => {
        while (got.indexOf('\r\n\r\n') < 0) await once(s, 'data');
      })(),
      5_000,
      'the 304',
    );
    s.write(request('GET', '/hello.txt', { Connection: 'close' }));
    await within(closed, 5_000, 'the response after a 304');
    const seq = parseResponses(got, ['GET', 'GET']);
    assert.equal(seq.responses.map((r) => r.status), [304, 200]);
    assert.ok(seq.responses[1]!.body.equals(body('hello.txt')));
    assert.is(seq.rest.length, 0);

    // Ranges.
    const ranges = await pipelined(port, [
      ['GET', '/cond.bin', { Range: 'bytes=0-99' }],
      ['GET', '/cond.bin', { Range: 'bytes=990-' }],
      ['GET', '/cond.bin', { Range: 'bytes=-10' }],
      ['GET', '/cond.bin', { Range: 'bytes=500-5000' }], // past the end: up to the end
      ['GET', '/cond.bin', { Range: 'bytes=-5000' }], // more than the file: all of it
      ['GET', '/cond.bin', { Range: `bytes=${size}-` }],
      ['GET', '/cond.bin', { Range: `bytes=${Array.from({ length: 17 }, (_, k) => `${k * 10}-${k * 10 + 1}`).join(',')}` }], // more than 16 ranges: the whole file
      ['GET', '/cond.bin', { Range: 'bytes=5-2' }], // invalid: the whole file
      ['GET', '/cond.bin', { Range: 'lines=1-2' }],
      ['GET', '/cond.bin', { Range: 'bytes=10-19', 'If-Range': '"stale"' }],
      ['GET', '/cond.bin', { Range: 'bytes=10-19', 'If-Range': hour }],
      ['GET', '/cond.bin', { Range: 'bytes=10-19', 'If-Range': etag }],
      ['GET', '/cond.bin', { Range: 'bytes=10-19', 'If-Range': lastModified }],
      ['GET', '/cond.bin', { Range: 'bytes=100-99999999999999999999999' }], // a huge last-pos: up to the end
      ['GET', '/cond.bin', { Range: 'bytes=99999999999999999999999-' }], // a huge first-pos: past the end
      ['HEAD', '/cond.bin', { Range: 'bytes=0-9' }], // Range is for GET only (RFC 9110 14.2)
      ['GET', '/hello.txt', { Range: 'bytes=0-4' }],
    ]);
    const expect: [number, number, number][] = [
      [206, 0, 99],
      [206, 990, 999],
      [206, 990, 999],
      [206, 500, 999],
      [206, 0, 999],
      [416, 0, 0],
      [200, 0, 999],
      [200, 0, 999],
      [200, 0, 999],
      [200, 0, 999],
      [200, 0, 999],
      [206, 10, 19],
      [206, 10, 19],
      [206, 100, 999],
      [416, 0, 0],
    ];
    expect.forEach(([status, first, last], i) => {
      const r = ranges[i]!;
      assert.is(r.status, status, `range request ${i}: status`);
      if (status === 416) {
        assert.is(r.headers['content-range'], `bytes */${size}`, '416 with the size');
      } else if (status === 206) {
        assert.is(r.headers['content-range'], `bytes ${first}-${last}/${size}`, `range request ${i}: Content-Range`);
        assert.ok(r.body.equals(data.subarray(first, last + 1)), `range request ${i}: bytes ${first}-${last}`);
        assert.is(r.headers['etag'], etag);
      } else {
        assert.is(r.headers['content-range'], undefined, `range request ${i}: no Content-Range`);
        assert.ok(r.body.equals(data), `range request ${i}: the whole file`);
      }
      assert.is(r.headers['connection'], i === ranges.length - 1 ? 'close' : 'keep-alive');
    });
    const [headRange, otherFile] = ranges.slice(expect.length);
    assert.is(headRange!.status, 200, 'HEAD with Range: the whole file\'s head');
    assert.is(headRange!.headers['content-length'], String(size));
    assert.is(otherFile!.status, 206);
    assert.ok(otherFile!.body.equals(body('hello.txt').subarray(0, 5)));

    // Several ranges: one multipart/byteranges body (RFC 9110 14.6), parts in the order asked; parts
    // past the end are dropped; overlapping parts adding up to more than the file get the whole file.
    const multi = await pipelined(port, [
      ['GET', '/cond.bin', { Range: 'bytes=0-1,5-6' }],
      ['GET', '/cond.bin', { Range: 'bytes=-3, 2000-3000 ,0-0' }],
      ['GET', '/cond.bin', { Range: 'bytes=0-599,400-999' }],
      ['GET', '/cond.bin', { Range: 'bytes=2000-,3000-' }],
    ]);
    const partsOf = (r: Response): { type: string; range: string; data: Buffer }[] => {
      const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(r.headers['content-type'] ?? '');
      assert.ok(m, `a multipart/byteranges type: ${r.headers['content-type']}`);
      const delimiter = Buffer.from(`\r\n--${m![1]}`);
      const parts: { type: string; range: string; data: Buffer }[] = [];
      let at = 0;
      for (;;) {
        assert.ok(r.body.subarray(at, at + delimiter.length).equals(delimiter), `a delimiter at ${at}`);
        at += delimiter.length;
        if (r.body.subarray(at, at + 4).toString() === '--\r\n') {
          assert.is(at + 4, r.body.length, 'nothing after the close delimiter');
          return parts;
        }
        const headEnd = r.body.indexOf('\r\n\r\n', at);
        const fields = Object.fromEntries(r.body.subarray(at + 2, headEnd).toString().split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const [, a, b] = /^bytes (\d+)-(\d+)\/\d+$/.exec(fields['content-range'] ?? '') ?? [];
        assert.ok(a !== undefined, `a Content-Range in each part: ${fields['content-range']}`);
        at = headEnd + 4;
        const n = Number(b) - Number(a) + 1;
        parts.push({ type: fields['content-type']!, range: fields['content-range']!, data: r.body.subarray(at, at + n) });
        at += n;
      }
    };
    assert.is(multi[0]!.status, 206);
    assert.is(multi[0]!.headers['content-range'], undefined, 'no Content-Range on a multipart response');
    const p0 = partsOf(multi[0]!);
    assert.equal(p0.map((p) => p.range), [`bytes 0-1/${size}`, `bytes 5-6/${size}`]);
    assert.ok(p0[0]!.data.equals(data.subarray(0, 2)) && p0[1]!.data.equals(data.subarray(5, 7)), 'the parts\' bytes');
    assert.ok(p0.every((p) => p.type === 'application/octet-stream'), `each part has the file's type: ${p0.map((p) => p.type)}`);
    const p1 = partsOf(multi[1]!);
    assert.equal(p1.map((p) => p.range), [`bytes ${size - 3}-${size - 1}/${size}`, `bytes 0-0/${size}`]);
    assert.ok(p1[0]!.data.equals(data.subarray(size - 3)) && p1[1]!.data.equals(data.subarray(0, 1)));
    assert.is(multi[2]!.status, 200, 'overlapping parts adding up to more than the file: the whole file');
    assert.ok(multi[2]!.body.equals(data));
    assert.is(multi[3]!.status, 416, 'no part satisfiable');
    assert.is(multi[3]!.headers['content-range'], `bytes */${size}`);

    // The file changes: a new ETag; the old one no longer matches, the new one does.
    const name = `changes-${mode}-${threads}.txt`;
    writeFileSync(join(www, name), 'version one\n');
    utimesSync(join(www, name), MTIME, MTIME);
    const [v1] = await pipelined(port, [['GET', `/${name}`]]);
    writeFileSync(join(www, name), 'version two, longer\n');
    utimesSync(join(www, name), MTIME + 60, MTIME + 60);
    const [v2, old, now, empty] = await pipelined(port, [
      ['GET', `/${name}`],
      ['GET', `/${name}`, { 'If-None-Match': v1!.headers['etag']! }],
      ['GET', `/${name}`, { 'If-None-Match': `"x", ${v1!.headers['etag']!}, "y"` }],
      ['GET', '/empty/.keep', { Range: 'bytes=0-' }],
    ]);
    assert.ok(v1!.headers['etag'] && v2!.headers['etag'] && v1!.headers['etag'] !== v2!.headers['etag'], `ETag changes with the file: ${v1!.headers['etag']} -> ${v2!.headers['etag']}`);
    assert.is(v2!.headers['last-modified'], new Date((MTIME + 60) * 1000).toUTCString());
    assert.is(old!.status, 200, 'the old ETag does not match');
    assert.is(old!.body.toString(), 'version two, longer\n');
    assert.is(now!.status, 200, 'a list of stale tags does not match');
    assert.is(empty!.status, 416, 'a range of an empty file');
    assert.is(empty!.headers['content-range'], 'bytes */0');
    rmSync(join(www, name));

    await stop(server, label('httpd (conditional)', mode, threads));
  });
}

// One server per mode, alive for a couple of seconds: the Date moves on without a request.
test('httpd Date: the clock keeps it current while the server runs, in every mode', async () => {
  const servers = await Promise.all(MODES.map((mode) => httpd(mode, 2)));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 2_200));
  for (const [i, { server, port }] of servers.entries()) {
    const [r] = await pipelined(port, [['HEAD', '/hello.txt']]);
    const d = Date.parse(r!.headers['date']!);
    assert.ok(isHttpDate(r!.headers['date']), `${MODES[i]}: Date ${r!.headers['date']}`);
    // Started in second floor(t0); two seconds later the Date must have left it.
    assert.ok(d > Math.floor(t0 / 1000) * 1000 && d <= Date.now(), `${MODES[i]}: Date ${r!.headers['date']} (${d - t0} ms after the start)`);
    await stop(server, `httpd Date (${MODES[i]})`);
  }
});

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

for (const mode of MODES) {
  test(label('httpd timeouts as nginx has them: header, keep-alive and send apart', mode, 2), async () => {
    const headerMs = 300;
    const keepaliveMs = 1500;
    const { server, port } = await httpd(mode, 2, ['--header-timeout-ms', String(headerMs), '--keepalive-timeout-ms', String(keepaliveMs), '--send-timeout-ms', '300']);
    /** A connection that got one response and then waits; `then` runs after it (ms since the response). */
    const afterOne = (then: (s: net.Socket) => Promise<void>) =>
      (async () => {
        const s = net.connect({ port, host: '127.0.0.1' });
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.write('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
        while (!data.endsWith(body('hello.txt').toString())) await once(s, 'data');
        const t0 = Date.now();
        const closed = once(s, 'close');
        await then(s);
        await closed;
        return { ms: Date.now() - t0, data };
      })();
    // Idle after a response: the keep-alive timeout, not the header one.
    const idle = afterOne(async () => {});
    // The next request's head starts and never ends: the header timeout from its first bytes.
    const trickle = afterOne(async (s) => {
      await new Promise((r) => setTimeout(r, 100));
      s.write('GET /hello.txt HTTP/1.1\r\n');
    });
    // A first head that never ends: the header timeout from the connection's start.
    const first = (async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      await once(s, 'connect');
      const t0 = Date.now();
      s.write('GET /hello.txt HTTP/1.1\r\n');
      await once(s, 'close');
      return Date.now() - t0;
    })();
    const [a, b, c] = await within(Promise.all([idle, trickle, first]), 10_000, 'clients');
    assert.ok(a.ms >= keepaliveMs - 20 && a.ms < keepaliveMs + 1000, `idle keep-alive connection closed after ${a.ms} ms (keep-alive timeout ${keepaliveMs})`);
    assert.ok(b.ms >= 100 + headerMs - 20 && b.ms < keepaliveMs - 200, `a kept-alive head that trickles is cut by the header timeout (${b.ms} ms after the response)`);
    assert.ok(c >= headerMs - 20 && c < headerMs + 900, `a first head that never ends is cut after ${c} ms (header timeout ${headerMs})`);
    const ok = await exchange(port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
    assert.is(parseResponses(ok.data, ['GET']).responses[0]?.status, 200);
    await stop(server, label('httpd (nginx timeouts)', mode, 2));
  });
}

// ---------------------------------------------------------------- the open-file cache

for (const mode of MODES) {
  test(label('httpd --open-file-cache: cached files need no openat, changes show after the validity, eviction keeps answers right', mode, 2), async () => {
    const name = `cached-${mode}.txt`;
    writeFileSync(join(www, name), 'version one\n');
    const { server, port } = await httpd(mode, 2, ['--open-file-cache', '2', '--open-file-cache-valid', '1']);
    // Ten requests for one file: one openat, then the cached descriptor.
    const same = await pipelined(port, Array.from({ length: 10 }, () => ['GET', `/${name}`] as [string, string]));
    assert.ok(same.every((r) => r.status === 200 && r.body.toString() === 'version one\n'), 'ten answers from the cache');
    // More files than the cache holds, in turns: every answer is still each file's own.
    const turns = await pipelined(port, [0, 1, 2, 0, 1, 2].map((k) => ['GET', ['/hello.txt', '/cond.bin', `/${name}`][k]!] as [string, string]));
    turns.forEach((r, i) => {
      assert.is(r.status, 200);
      const want = i % 3 === 0 ? body('hello.txt') : i % 3 === 1 ? body('cond.bin') : Buffer.from('version one\n');
      assert.ok(r.body.equals(want), `request ${i}: its own file after evictions`);
    });
    // A change is seen once the entry is older than its validity (1 s; the server's clock has 1 s steps).
    writeFileSync(join(www, name), 'version two, longer\n');
    await new Promise((r) => setTimeout(r, 2200));
    const [after] = await pipelined(port, [['GET', `/${name}`]]);
    assert.is(after!.body.toString(), 'version two, longer\n');
    const o = await stop(server, label('httpd (open-file cache)', mode, 2));
    const opened = o.result.stats.bySyscall['openat']?.completed ?? 0;
    // Without the cache these 17 requests make 17 openats; with it: the first, the evictions' reopens
    // (at most 6) and the one after the change.
    assert.ok(opened <= 9, `openat made ${opened} times for 17 requests`);
  });
}


const abTest = clientTest('ab', 'e2e-os-httpd');
/** A figure from ApacheBench's report (`Complete requests:      2000`), or NaN. */
function abFigure(report: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(report);
  return m ? Number(m[1]) : Number.NaN;
}

for (const mode of MODES) {
  abTest(label('httpd with ApacheBench: 2,000 requests from 16 clients, kept alive (HTTP/1.0 keep-alive) and one connection each', mode, 2), async () => {
    const { server, port } = await httpd(mode, 2);
    const url = `http://127.0.0.1:${port}/hello.txt`;
    const size = body('hello.txt').length;
    // -k: HTTP/1.0 with "Connection: keep-alive", as ab sends it; without: a connection per request.
    for (const keepAlive of [true, false]) {
      const r = await runProgram('ab', [...(keepAlive ? ['-k'] : []), '-q', '-c', '16', '-n', '2000', '-s', '10', url], { timeoutMs: 30_000 });
      const report = r.stdout.toString();
      const what = `${label('ab', mode, 2)}${keepAlive ? ' -k' : ''}`;
      assert.is(r.code, 0, `${what}: exit status\n${report}\n${r.stderr}`);
      assert.is(abFigure(report, 'Complete requests'), 2000, `${what}: complete\n${report}`);
      assert.is(abFigure(report, 'Failed requests'), 0, `${what}: failed\n${report}`);
      assert.not.match(report, /Non-2xx responses/, `${what}: every response a 200`);
      assert.is(abFigure(report, 'Document Length'), size, `${what}: body length`);
      // ab prints the line only with -k.
      if (keepAlive) assert.is(abFigure(report, 'Keep-Alive requests'), 2000, `${what}: kept alive\n${report}`);
      else assert.not.match(report, /Keep-Alive requests/, what);
    }
    const o = await stop(server, label('httpd (ab)', mode, 2));
    assert.ok((o.result.stats.bySyscall['accept4']?.completed ?? 0) >= 2016, 'a connection per request without -k, 16 with it');
  });
}

test.run();
