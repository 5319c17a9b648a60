// End to end on the os kernel: the httpd as an nginx user expects it. A directory without its
// trailing slash is a 301 with Location; --autoindex lists a directory (getdents64); Content-Type
// from the mime-db table; --listen ADDR:PORT and --index; the access log in nginx's combined format
// (--access-log), flushed at a graceful stop; If-Match/If-Unmodified-Since (412); a body past
// --max-body (413); --keepalive-requests; a head that fills the whole buffer (8,192 empty lines,
// then 8,192 bytes of request line) answered 400, not taken for end of file; SIGINT stops
// accepting, finishes the response in flight, exits 0. Then a differential test: the same requests
// for the same files to this server and to nginx from Debian, comparing status codes and the
// headers that matter.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestPath } from './helpers/e2e.js';
import { Child, hasProgram, killChildren, within } from './helpers/os-e2e.js';

const HTTPD = guestPath('examples/httpd/server');
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-nginx-'));
const www = join(tmp, 'www');
const logs = join(tmp, 'logs');
test.after.each(killChildren);
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const FILES: Record<string, string> = {
  'index.html': '<!DOCTYPE html><title>home</title>\n',
  'hello.txt': 'hello, world\n',
  'style.css': 'body { color: #123; }\n',
  'pic.png': 'not really a png\n',
  'doc.pdf': '%PDF-1.4\n',
  'song.mp3': 'ID3\n',
  'sub/index.html': '<p>sub</p>\n',
  'sub/page.html': '<p>page</p>\n',
  'list/b.txt': 'b\n',
  'list/a & <c>.txt': 'a\n',
  'list/inner/x.txt': 'x\n',
  'main.htm': '<p>main</p>\n',
};
for (const [name, content] of Object.entries(FILES)) {
  mkdirSync(join(www, name, '..'), { recursive: true });
  writeFileSync(join(www, name), content);
  utimesSync(join(www, name), 1_600_000_000, 1_600_000_000);
}
mkdirSync(logs);
// nginx as root runs its workers as nobody: everything it serves must be world-readable.
for (const d of [tmp, www, join(www, 'sub'), join(www, 'list'), join(www, 'list/inner')]) chmodSync(d, 0o755);

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One raw request on a fresh connection (Connection: close), the response parsed. The client
 * half-closes after sending: a server lingering over a refused body (413) then sees the end.
 */
async function request(port: number, raw: string, timeoutMs = 15_000): Promise<Reply> {
  const s = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', () => {});
  s.end(raw);
  await within(new Promise<void>((r) => s.once('close', () => r())), timeoutMs, `response on port ${port} to ${JSON.stringify(raw.slice(0, 40))}`);
  const text = Buffer.concat(chunks).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end < 0 ? text.length : end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  if (!text) throw new Error(`no response on port ${port} to ${JSON.stringify(raw.slice(0, 60))}`);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4) };
}

const get = (port: number, path: string, extra = ''): Promise<Reply> => request(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);

async function startHttpd(args: string[], cliArgs: string[] = []): Promise<{ c: Child; port: number }> {
  const c = Child.cli(['run', '--dir', `${www}:/www:ro`, ...cliArgs, HTTPD, '--root', '/www', '--listen', '127.0.0.1:0', ...args]);
  const port = Number((await c.waitFor(/^httpd: listening on 127\.0\.0\.1:(\d+)$/m, 15_000))[1]);
  return { c, port };
}

test('a directory without its slash: 301 with Location (query kept); --index names the index file', async () => {
  const { c, port } = await startHttpd(['--index', 'page.html']);
  const [sub, withQuery, slash, head] = await Promise.all([get(port, '/sub'), get(port, '/sub?a=1&b=2'), get(port, '/sub/'), request(port, 'HEAD /sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]);
  assert.is(sub.status, 301);
  assert.is(sub.headers['location'], '/sub/');
  assert.is(withQuery.headers['location'], '/sub/?a=1&b=2');
  assert.is(slash.status, 200);
  assert.is(slash.body, FILES['sub/page.html']);
  assert.is(head.status, 301);
  assert.is(head.body, '');
  assert.is((await c.interrupt()).code, 0, c.stderr);
});

test('--autoindex lists a directory without an index file (names escaped and sorted); without it 403', async () => {
  const { c, port } = await startHttpd(['--autoindex']);
  const [list, file] = await Promise.all([get(port, '/list/'), get(port, '/list/b.txt')]);
  assert.is(list.status, 200);
  assert.is(list.headers['content-type'], 'text/html; charset=utf-8');
  assert.is(Number(list.headers['content-length']), Buffer.byteLength(list.body));
  assert.match(list.body, /<title>Index of \/list\/<\/title>/);
  assert.match(list.body, /<a href="a%20%26%20%3Cc%3E\.txt">a &amp; &lt;c&gt;\.txt<\/a>\n<a href="b\.txt">b\.txt<\/a>\n<a href="inner\/">inner\/<\/a>/);
  assert.is(file.status, 200);
  assert.is((await c.interrupt()).code, 0, c.stderr);
  const plain = await startHttpd([]);
  assert.is((await get(plain.port, '/list/')).status, 403);
  assert.is((await plain.c.interrupt()).code, 0);
});

test('Content-Type from mime-db, --listen, 412 for If-Match/If-Unmodified-Since, 413 past --max-body', async () => {
  const { c, port } = await startHttpd(['--max-body', '100']);
  const types = await Promise.all(['/doc.pdf', '/song.mp3', '/main.htm', '/pic.png'].map((p) => get(port, p)));
  assert.equal(types.map((t) => t.headers['content-type']), ['application/pdf', 'audio/mpeg', 'text/html; charset=utf-8', 'image/png']);
  const etag = types[0]!.headers['etag']!;
  const [match, noMatch, star, weak, unmodOld, unmodNew, big, small] = await Promise.all([
    get(port, '/doc.pdf', `If-Match: "x", ${etag}\r\n`),
    get(port, '/doc.pdf', 'If-Match: "nope"\r\n'),
    get(port, '/doc.pdf', 'If-Match: *\r\n'),
    get(port, '/doc.pdf', `If-Match: W/${etag}\r\n`),
    get(port, '/doc.pdf', 'If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n'),
    get(port, '/doc.pdf', 'If-Unmodified-Since: Sun, 13 Sep 2020 12:26:40 GMT\r\n'),
    get(port, '/hello.txt', 'Content-Length: 101\r\n'),
    request(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello'),
  ]);
  assert.equal([match, noMatch, star, weak, unmodOld, unmodNew, big, small].map((r) => r.status), [200, 412, 200, 412, 412, 200, 413, 200]);
  assert.is((await c.interrupt()).code, 0, c.stderr);
});

test('issue 8 defect 5: 8,192 empty lines then 8,192 bytes of request line fill the buffer: 400, not EOF', async () => {
  const { c, port } = await startHttpd([]);
  const r = await request(port, '\r\n'.repeat(4096) + 'A'.repeat(8192));
  assert.is(r.status, 400);
  const lf = await request(port, '\n'.repeat(8192) + 'A'.repeat(8192));
  assert.is(lf.status, 400);
  assert.is((await c.interrupt()).code, 0, c.stderr);
});

test('--keepalive-requests closes a connection after that many responses', async () => {
  const { c, port } = await startHttpd(['--keepalive-requests', '2']);
  const one = 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n';
  const s = net.connect({ port, host: '127.0.0.1' });
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => {});
  s.write(one + one + one);
  await within(new Promise<void>((r) => s.once('close', () => r())), 5_000, 'close after 2');
  assert.is(text.match(/HTTP\/1\.1 200/g)?.length, 2, text);
  assert.match(text, /Connection: keep-alive[\s\S]*Connection: close/);
  assert.is((await c.interrupt()).code, 0, c.stderr);
});

test('access log in the combined format; SIGINT finishes the response in flight, flushes the log, exits 0', async () => {
  mkdirSync(join(logs, 'a'), { recursive: true });
  const { c, port } = await startHttpd(['--access-log', '/logs/access.log'], ['--dir', `${join(logs, 'a')}:/logs`]);
  await get(port, '/hello.txt', 'Referer: http://ref.example/\r\nUser-Agent: test "agent"\r\n');
  await get(port, '/missing');
  // A response in flight when the signal comes: a client that reads slowly.
  const big = 'x'.repeat(1024 * 1024);
  writeFileSync(join(www, 'big.txt'), big);
  chmodSync(join(www, 'big.txt'), 0o644);
  const slow = net.connect({ port, host: '127.0.0.1' });
  slow.on('error', () => {});
  let received = 0;
  slow.on('data', (d: Buffer) => {
    received += d.length;
    slow.pause();
    setTimeout(() => slow.resume(), 1);
  });
  slow.write('GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await within(new Promise<void>((r) => slow.once('data', () => r())), 5_000, 'first bytes');
  const idle = net.connect({ port, host: '127.0.0.1' });
  idle.on('error', () => {});
  await new Promise<void>((r) => idle.once('connect', () => r()));
  const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
  // 'end' comes after every byte was read (the reader pauses; 'close' may come before that).
  const slowClosed = new Promise<void>((r) => slow.once('end', () => r()));
  const r = await c.interrupt(15_000);
  assert.is(r.code, 0, c.stderr);
  await within(Promise.all([idleClosed, slowClosed]), 5_000, 'connections closed');
  assert.ok(received > big.length, `the response in flight was finished (${received} bytes)`);
  // A new connection is refused: the listener is gone.
  const refused = await new Promise<boolean>((res) => net.connect({ port, host: '127.0.0.1' }).on('error', () => res(true)).on('connect', () => res(false)));
  assert.ok(refused, 'no listener after the stop');
  const lines = readFileSync(join(logs, 'a/access.log'), 'utf8').trimEnd().split('\n');
  const time = String.raw`\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]`;
  assert.match(lines[0]!, new RegExp(`^127\\.0\\.0\\.1 - - ${time} "GET /hello\\.txt HTTP/1\\.1" 200 13 "http://ref\\.example/" "test \\\\x22agent\\\\x22"$`));
  assert.match(lines[1]!, new RegExp(`^127\\.0\\.0\\.1 - - ${time} "GET /missing HTTP/1\\.1" 404 \\d+ "-" "-"$`));
  assert.match(lines[2]!, new RegExp(`"GET /big\\.txt HTTP/1\\.1" 200 ${big.length} "-" "-"$`));
  rmSync(join(www, 'big.txt'));
});

// ------------------------------------------------------------------ against nginx

/** nginx from Debian (.ci/run installs it); skipped outside CI when missing, a failure in CI. */
const nginxTest = hasProgram('nginx') || existsNginx() ? test : process.env.CI ? (name: string) => test(name, () => assert.unreachable('nginx is not installed: CI must provide it (.ci/run installs nginx)')) : (console.log('  (nginx is not installed: the differential test is skipped; CI installs it)'), test.skip);

function existsNginx(): boolean {
  try {
    readFileSync('/usr/sbin/nginx');
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startNginx(): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const prefix = join(tmp, 'nginx');
  mkdirSync(prefix, { recursive: true });
  chmodSync(prefix, 0o755);
  const conf = join(prefix, 'nginx.conf');
  // One process (no master and workers): it runs as whoever starts it, and stops with the test.
  writeFileSync(conf, `daemon off;
master_process off;
error_log ${prefix}/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${www};
    index index.html;
    absolute_redirect off;
  }
}
`);
  const proc = spawn(hasProgram('nginx') ? 'nginx' : '/usr/sbin/nginx', ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((res) => net.connect({ port, host: '127.0.0.1' }).on('error', () => res(false)).on('connect', function (this: net.Socket) { this.destroy(); res(true); }));
    if (up) return { proc, port };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  proc.kill('SIGKILL');
  throw new Error(`nginx did not start: ${err}`);
}

/** The media type without parameters (nginx sends no charset by default). */
const mediaType = (v: string | undefined): string | undefined => v?.split(';')[0]!.trim();

nginxTest('differential: the same requests to this httpd and to nginx get the same statuses and headers that matter', async () => {
  const nginx = await startNginx();
  const { c, port } = await startHttpd([]);
  try {
    const etag = (await get(nginx.port, '/hello.txt')).headers['etag']!;
    const cases: [string, string][] = [
      ['/', ''],
      ['/hello.txt', ''],
      ['/style.css', ''],
      ['/pic.png', ''],
      ['/doc.pdf', ''],
      ['/missing.txt', ''],
      ['/sub', ''],
      ['/sub?q=1', ''],
      ['/sub/', ''],
      ['/sub/page.html', ''],
      ['/list/', ''],
      ['/hello.txt', 'Range: bytes=0-4\r\n'],
      ['/hello.txt', 'Range: bytes=-3\r\n'],
      ['/hello.txt', 'Range: bytes=100-\r\n'],
      ['/hello.txt', 'Range: bytes=0-1,4-6\r\n'],
      ['/hello.txt', `If-None-Match: ${etag}\r\n`],
      ['/hello.txt', 'If-Modified-Since: Sun, 13 Sep 2020 12:26:40 GMT\r\n'],
      ['/hello.txt', 'If-Match: "nope"\r\n'],
      ['/hello.txt', `If-Match: ${etag}\r\n`],
      ['/hello.txt', 'If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n'],
      ['/hello.txt', 'Content-Length: 2000000\r\n'],
      ['/' + 'a'.repeat(9000), ''],
    ];
    const raw = (path: string, extra: string, method = 'GET'): string => `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;
    const all: [string, string, string][] = [...cases.map(([p, e]) => ['GET', p, e] as [string, string, string]), ['HEAD', '/hello.txt', ''], ['HEAD', '/sub', ''], ['DELETE', '/hello.txt', '']];
    for (const [method, path, extra] of all) {
      const what = `${method} ${path.slice(0, 30)} ${extra.trim()}`;
      const [ours, theirs] = await Promise.all([request(port, raw(path, extra, method)), request(nginx.port, raw(path, extra, method))]);
      assert.is(ours.status, theirs.status, `${what}: status (nginx ${theirs.status})`);
      if (theirs.status === 200 || theirs.status === 206 || theirs.status === 304) {
        for (const h of ['etag', 'last-modified', 'content-range']) assert.is(ours.headers[h], theirs.headers[h], `${what}: ${h}`);
        // A multipart body's length depends on each server's own boundary: its type is compared instead.
        const multipart = theirs.headers['content-type']?.startsWith('multipart/byteranges');
        if (multipart) assert.match(ours.headers['content-type'] ?? '', /^multipart\/byteranges; boundary=/, `${what}: content-type`);
        else if (theirs.status !== 304) assert.is(ours.headers['content-length'], theirs.headers['content-length'], `${what}: content-length`);
        if (theirs.status === 200 && !path.endsWith('/') && theirs.headers['content-type']) assert.is(mediaType(ours.headers['content-type']), mediaType(theirs.headers['content-type']), `${what}: content-type`);
      }
      if (theirs.status === 301) assert.is(ours.headers['location'], theirs.headers['location'], `${what}: location`);
      if (theirs.status === 416) assert.is(ours.headers['content-range'], theirs.headers['content-range'], `${what}: content-range`);
    }
  } catch (err) {
    let log = '';
    try {
      log = readFileSync(join(tmp, 'nginx/error.log'), 'utf8');
    } catch {
      /* none */
    }
    throw new Error(`${(err as Error).message}\nnginx error.log:\n${log}`);
  } finally {
    nginx.proc.kill('SIGKILL');
    await c.interrupt();
  }
});

test.run();
