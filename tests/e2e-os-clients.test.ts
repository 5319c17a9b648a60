// End to end on the os kernel with stock command-line clients, as a user would try the examples:
// curl against the httpd example (status line, bodies byte for byte against the files on disk, a
// 404, HEAD, two URLs over one kept-alive connection, ".." and a symlink that lead out of the
// document root) and OpenBSD netcat piping tens of kB through the echo example (`nc -N`: shut the
// socket down after standard input ends, so the server sees end of file and closes). Each in the
// exceptionless and the epoll mode. Servers listen on 127.0.0.1 with a port the kernel picks.
//
// curl and nc are run with execFile (argument vectors, no shell) under a timeout. CI installs them
// (.ci/run): there a missing one fails the test; elsewhere the test is skipped with a note.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../host/runtime/vm.js';
import { VmPool, label, type Running } from './helpers/e2e.js';
import { hasProgram, patternBytes, startServer } from './helpers/os-e2e.js';

const MODES: readonly Mode[] = ['exceptionless', 'epoll'];
const THREADS = 2;
/** No client may take longer than this (they finish in milliseconds). */
const CLIENT_TIMEOUT_MS = 15_000;

const pool = new VmPool({ kernel: 'os' });
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-os-clients-'));
const www = join(tmp, 'www');
const out = join(tmp, 'out');
test.after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

// The document root, a file beside it that no request may reach, and a symlink leading to it.
const SECRET = 'top secret, outside the root\n';
const FILES: Record<string, string | Buffer> = {
  'index.html': '<!DOCTYPE html><title>clients</title><p>served to curl</p>\n',
  'hello.txt': 'hello, curl\n',
  'sub/page.html': '<p>a page in a folder</p>\n',
  // Several sendfile steps (64 kB each) and more than one socket buffer.
  'blob.bin': patternBytes(300 * 1024 + 17, 21),
};
for (const [name, content] of Object.entries(FILES)) {
  mkdirSync(join(www, name, '..'), { recursive: true });
  writeFileSync(join(www, name), content);
}
writeFileSync(join(tmp, 'secret.txt'), SECRET);
symlinkSync(join(tmp, 'secret.txt'), join(www, 'escape.txt'));
mkdirSync(out);

/** The bytes of a file as it is on disk. */
function onDisk(name: string): Buffer {
  return readFileSync(join(www, name));
}

// ---------------------------------------------------------------- the clients

/** Why `program` cannot be used, or null when it can. */
function unusable(program: 'curl' | 'nc'): string | null {
  if (!hasProgram(program)) return `${program} is not installed`;
  if (program === 'nc') {
    // -N (shut down after EOF on stdin) is OpenBSD netcat's; the traditional and busybox ones lack it.
    const help = spawnSync('nc', ['-h'], { encoding: 'utf8', timeout: 5_000 });
    if (!/OpenBSD netcat/.test(`${help.stdout}${help.stderr}`)) return 'nc is not OpenBSD netcat (netcat-openbsd), which -N needs';
  }
  return null;
}

type TestFn = (name: string, fn: () => Promise<void>) => void;

/** `test` when `program` can be used; in CI a test that fails saying why; elsewhere a skip with a note. */
function clientTest(program: 'curl' | 'nc'): TestFn {
  const why = unusable(program);
  if (why === null) return test;
  if (process.env.CI) {
    return (name, _fn) =>
      test(name, () => {
        assert.unreachable(`${why}: CI must provide it (.ci/run installs curl and netcat-openbsd)`);
      });
  }
  console.log(`  (${why}: its tests in ${import.meta.url.split('/').pop()} are skipped; CI installs it)`);
  return test.skip;
}

interface Ran {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a client to its end (killed after CLIENT_TIMEOUT_MS), with `input` on its standard input. */
function client(cmd: string, args: readonly string[], input: Uint8Array = new Uint8Array(0)): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'buffer', timeout: CLIENT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          const killed = err.killed ? ` (killed after ${CLIENT_TIMEOUT_MS} ms)` : '';
          return reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}${killed}\n${stderr.toString()}`));
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr: stderr.toString() });
      },
    );
    child.stdin!.on('error', () => {});
    child.stdin!.end(input);
  });
}

async function stop(server: Running, what: string): Promise<void> {
  server.guest.kill();
  const o = await server.done;
  assert.is(o.status, 130, `${what}: the server ran until stopped\n${o.stderr}`);
}

// ---------------------------------------------------------------- curl and httpd

const curlTest = clientTest('curl');

/** Splits `curl -i` output into the status line, the head, and the body. */
function splitResponse(raw: Buffer): { status: string; head: string; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a response head in ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))}`);
  const head = raw.subarray(0, end).toString('latin1');
  return { status: head.split('\r\n')[0]!, head, body: raw.subarray(end + 4) };
}

for (const mode of MODES) {
  curlTest(label('curl fetches files from httpd: bodies as on disk, 404, HEAD, keep-alive, no way out of the root', mode, THREADS), async () => {
    const { server, port } = await startServer(await pool.get(THREADS), 'examples/httpd/server', {
      mode,
      dirs: [`${www}:/www`],
      args: ['--root', '/www', '--port', '0'],
      timeoutMs: 60_000,
    });
    const url = (path: string): string => `http://127.0.0.1:${port}${path}`;

    // GET: the status line, and the body byte for byte.
    for (const [path, name] of [['/hello.txt', 'hello.txt'], ['/', 'index.html'], ['/sub/page.html', 'sub/page.html'], ['/blob.bin', 'blob.bin']]) {
      const r = await client('curl', ['-sS', '-i', url(path!)]);
      assert.is(r.code, 0, `curl ${path}: exit status\n${r.stderr}`);
      const res = splitResponse(r.stdout);
      assert.is(res.status, 'HTTP/1.1 200 OK', `${path}: status line`);
      assert.match(res.head, new RegExp(`\\r\\nContent-Length: ${onDisk(name!).length}\\r\\n`), `${path}: Content-Length`);
      assert.ok(res.body.equals(onDisk(name!)), `${path}: the body is the file (${res.body.length} bytes, want ${onDisk(name!).length})`);
    }

    // A missing file: 404 (curl itself succeeds; --fail would turn it into exit status 22).
    const missing = await client('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url('/nope.txt')]);
    assert.is(missing.stdout.toString(), '404', 'missing file');
    const failed = await client('curl', ['-sS', '--fail', '-o', '/dev/null', url('/nope.txt')]);
    assert.is(failed.code, 22, 'curl --fail on a 404');

    // HEAD: the head with the file's length, and no body.
    const head = await client('curl', ['-sS', '-I', url('/blob.bin')]);
    assert.is(head.code, 0, head.stderr);
    const h = head.stdout.toString('latin1');
    assert.match(h, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(h, new RegExp(`\\r\\nContent-Length: ${onDisk('blob.bin').length}\\r\\n`));
    assert.ok(h.endsWith('\r\n\r\n'), 'HEAD: nothing after the head');

    // Two URLs in one invocation: the second reuses the first's connection.
    const [a, b] = [join(out, `a-${mode}`), join(out, `b-${mode}`)];
    const two = await client('curl', ['-sS', '-w', '%{http_code} %{num_connects}\\n', '-o', a, url('/blob.bin'), '-o', b, url('/hello.txt')]);
    assert.is(two.code, 0, two.stderr);
    assert.is(two.stdout.toString(), '200 1\n200 0\n', 'one connection for both (num_connects 1, then 0)');
    assert.ok(readFileSync(a).equals(onDisk('blob.bin')), 'first body');
    assert.ok(readFileSync(b).equals(onDisk('hello.txt')), 'second body');

    // Out of the root: ".." sent as is (the guest refuses it), and a symlink to the file beside the
    // root (the kernel's sandbox refuses it). Never the secret.
    for (const path of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/escape.txt']) {
      const r = await client('curl', ['-sS', '--path-as-is', '-i', url(path)]);
      assert.is(r.code, 0, `${path}: exit status\n${r.stderr}`);
      const res = splitResponse(r.stdout);
      assert.match(res.status, /^HTTP\/1\.1 40[34] /, `${path}: refused`);
      assert.not.ok(r.stdout.includes(SECRET), `${path}: the file outside the root was served`);
    }

    await stop(server, label('httpd (curl)', mode, THREADS));
  });
}

// ---------------------------------------------------------------- nc and echo

const ncTest = clientTest('nc');

for (const mode of MODES) {
  ncTest(label('nc -N pipes tens of kB through the echo server, byte for byte', mode, THREADS), async () => {
    const { server, port } = await startServer(await pool.get(THREADS), 'examples/echo/server', {
      mode,
      args: ['--port', '0'],
      timeoutMs: 60_000,
    });
    // Three clients at once: 64 kB and 40 kB (several reads and writes of the server's 16 kB
    // buffer, more than a socket buffer), and one byte.
    const inputs = [patternBytes(64 * 1024, 31), patternBytes(40 * 1000 + 3, 32), Buffer.from('x')];
    const rs = await Promise.all(inputs.map((input) => client('nc', ['-N', '127.0.0.1', String(port)], input)));
    rs.forEach((r, i) => {
      assert.is(r.code, 0, `nc ${i}: exit status\n${r.stderr}`);
      assert.is(r.stdout.length, inputs[i]!.length, `nc ${i}: bytes echoed`);
      assert.ok(r.stdout.equals(inputs[i]!), `nc ${i}: the echo is what was sent`);
    });
    await stop(server, label('echo (nc)', mode, THREADS));
  });
}

test.run();
