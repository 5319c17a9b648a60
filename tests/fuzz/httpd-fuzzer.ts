/**
 * The httpd under attack and under load, on the os kernel (or native), in this process:
 *
 * - fuzzHttpd: connections carrying mutated valid requests and the hostile corpus (sent whole or in
 *   random pieces), while a reference client on connections of its own checks, again and again, that
 *   a GET is answered correctly. The server must keep answering it, and must still be running.
 * - soakHttpd: mixed well-formed load (keep-alive and not, GET, HEAD, ranges, conditionals, misses)
 *   while a writer keeps changing the served files (rewrites, renames into place, appends); every
 *   answer is checked against what the file could have held. Descriptors, memory and libuv handles of
 *   this process are measured before and after (the server closes idle connections meanwhile).
 *
 * Used by tests/e2e-os-httpd-fuzz.test.ts (short runs) and scripts/fuzz.mjs / scripts/soak.mjs (long).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VM } from '../../host/vm/vm.js';
import { attackWhileChecking, countResources, exchange, mutateBytes, newFuzzReport, type ProtocolFuzzReport, type ResourceReport } from './harness.js';
import { prng } from './prng.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const HTTPD = join(ROOT, 'examples/httpd/server.wasm');

export interface Served {
  readonly vm: VM;
  readonly port: number;
  readonly dir: string;
  readonly stderr: () => string;
  readonly alive: () => boolean;
  stop(): Promise<void>;
}

/** Starts the httpd on a fresh document root (index.html, hello.txt, big.bin) and waits for its port. */
export async function serveHttpd(threads = 2, idleMs = 5000, kernel: 'os' | 'native' = 'os'): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-httpd-fuzz-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>reference</title><p>reference page</p>\n');
  writeFileSync(join(dir, 'hello.txt'), 'hello\n');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(256 * 1024, 0x5a));
  const logs: string[] = [];
  const vm = await VM.create({ kernel, syscallThreads: threads, log: (m) => logs.push(m) });
  let err = '';
  let running = true;
  const guest = await vm.spawn(HTTPD, {
    args: ['--root', '/www', '--port', '0', '--idle-ms', String(idleMs)],
    dirs: [`${dir}:/www`],
    stdout: () => {},
    stderr: (d) => (err += Buffer.from(d).toString()),
  });
  guest.exited.then(() => (running = false), () => (running = false));
  const until = Date.now() + 10_000;
  let port: number | null = null;
  while (port === null && Date.now() < until && running) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
    if (m) port = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 10));
  }
  if (port === null) {
    await vm.close();
    throw new Error(`httpd did not start: ${err}\n${logs.join('\n')}`);
  }
  return {
    vm,
    port,
    dir,
    stderr: () => err + logs.map((l) => `flexvm: ${l}\n`).join(''),
    alive: () => running,
    stop: async () => {
      guest.kill();
      await guest.exited.catch(() => {});
      await vm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Parses the first response in `data`: status, headers (lower-case), body (by Content-Length). */
export function parseResponse(data: Buffer): { status: number; headers: Map<string, string>; body: Buffer; rest: Buffer } | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]!);
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  const len = Number(headers.get('content-length') ?? '0');
  const body = data.subarray(end + 4, end + 4 + len);
  return { status: Number(m[1]), headers, body, rest: data.subarray(end + 4 + len) };
}

const VALID: readonly Buffer[] = [
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /index.html HTTP/1.0\r\n\r\n',
  'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  'GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=100-2000\r\n\r\n',
  'GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: "abc"\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n',
  'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /missing HTTP/1.1\r\nHost: x\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

/** Inputs known to hurt parsers: traversal in every encoding, odd framing, oversize fields, garbage. */
export const HOSTILE: readonly Buffer[] = [
  'GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /%252e%252e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /%c0%ae%c0%ae/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /.%00./etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET \\..\\..\\etc\\passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzz\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n',
  'GET / HTTP/1.1\r\nNoColonHere\r\n\r\n',
  'GET / HTTP/9.9\r\n\r\n',
  'G\0ET / HTTP/1.1\r\n\r\n',
  ' / HTTP/1.1\r\n\r\n',
  '\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\nHost: x\n\n',
  'GET /' + 'a'.repeat(20000) + ' HTTP/1.1\r\n\r\n',
  'GET / HTTP/1.1\r\n' + 'X-A: b\r\n'.repeat(3000) + '\r\n',
  'GET / HTTP/1.1\r\nRange: bytes=99999999999999999999-\r\n\r\n',
  'GET /big.bin HTTP/1.1\r\nRange: bytes=-0\r\n\r\n',
  'GET /big.bin HTTP/1.1\r\nRange: bytes=5-1,0-0,1-2\r\n\r\n',
  '\n'.repeat(8192) + 'A'.repeat(8192),
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200),
].map((s) => Buffer.from(s, 'latin1'));

const mutate = (rnd: () => number, input: Buffer) => mutateBytes(rnd, input, ['\r\n', ':', ' ', '\0', '%', '/..', '\r', '\n\n', 'ÿ']);

export type HttpdFuzzReport = ProtocolFuzzReport;

/** A GET of /index.html (or `path`) on a fresh connection must come back 200 with `expect` (a checker). */
async function reference(port: number, check: (body: Buffer) => boolean, path = '/index.html'): Promise<string | null> {
  const r = await exchange(port, [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ref\r\nConnection: close\r\n\r\n`)], 5000);
  const p = parseResponse(r.data);
  if (p === null) return `no response (${r.closed ? 'closed' : 'timed out'}${r.error ? `, ${r.error}` : ''})`;
  if (p.status !== 200) return `status ${p.status}`;
  if (!check(p.body)) return `wrong body (${p.body.length} bytes)`;
  return null;
}

export async function fuzzHttpd(options: { seconds: number; seed: number; concurrency?: number; threads?: number; kernel?: 'os' | 'native' }): Promise<HttpdFuzzReport> {
  const rnd = prng(options.seed);
  const srv = await serveHttpd(options.threads ?? 2, 5000, options.kernel ?? 'os');
  const expected = Buffer.from('<!doctype html><title>reference</title><p>reference page</p>\n');
  const report = newFuzzReport();
  try {
    await attackWhileChecking({
      report, rnd, port: srv.port, until: Date.now() + options.seconds * 1000, concurrency: options.concurrency ?? 8,
      hostile: HOSTILE, valid: VALID, mutate, answerMs: 1500,
      reference: () => reference(srv.port, (b) => b.equals(expected)), intervalMs: 50, label: 'reference GET',
    });
    report.serverAlive = srv.alive();
  } finally {
    await srv.stop();
  }
  return report;
}

// ------------------------------------------------------------------------------------------ soak

export interface SoakReport extends ResourceReport {
  requests: number;
  errors: number;
  readonly failures: string[];
  fileChanges: number;
  serverAlive: boolean;
}

/** A version of a changing file: its text says which, and its length is part of it. */
function versionText(v: number): string {
  return `v${v}:` + 'x'.repeat(v % 5000) + '\n';
}
const VERSION = /^v(\d+):(x*)\n$/;

export async function soakHttpd(options: { seconds: number; concurrency?: number; threads?: number; kernel?: 'os' | 'native' }): Promise<SoakReport> {
  const resources = await countResources();
  // The httpd's default idle time (5 s): it also closes a client that stops reading for that long,
  // and clients in this busy process must not be taken for such.
  const srv = await serveHttpd(options.threads ?? 2, 5000, options.kernel ?? 'os');
  const report: SoakReport = Object.assign(resources.report, { requests: 0, errors: 0, failures: [], fileChanges: 0, serverAlive: true });
  const fail = (m: string) => {
    report.errors++;
    if (report.failures.length < 20) report.failures.push(m);
  };
  writeFileSync(join(srv.dir, 'changing.txt'), versionText(0));
  const until = Date.now() + options.seconds * 1000;
  resources.sample(options.seconds, () => report.requests);
  const rnd = prng(7);
  try {
    const writer = async () => {
      let v = 1;
      while (Date.now() < until) {
        const r = rnd();
        const file = join(srv.dir, 'changing.txt');
        if (r < 0.5) {
          writeFileSync(join(srv.dir, '.tmp'), versionText(v));
          renameSync(join(srv.dir, '.tmp'), file); // atomic: readers see one version or the other
        } else if (r < 0.8) {
          writeFileSync(join(srv.dir, `new-${v % 50}.txt`), versionText(v));
        } else {
          appendFileSync(join(srv.dir, 'log.txt'), `line ${v}\n`);
        }
        v++;
        report.fileChanges++;
        await new Promise((r2) => setTimeout(r2, 2));
      }
    };
    const client = async (id: number) => {
      while (Date.now() < until) {
        const kind = Math.floor(rnd() * 6);
        const keep = rnd() < 0.5;
        const conn = keep ? '' : 'Connection: close\r\n';
        let req: string;
        if (kind === 0) req = `GET /changing.txt HTTP/1.1\r\nHost: s\r\n${conn}\r\n`;
        else if (kind === 1) req = `GET /index.html HTTP/1.1\r\nHost: s\r\n${conn}\r\n`;
        else if (kind === 2) req = `HEAD /big.bin HTTP/1.1\r\nHost: s\r\n${conn}\r\n`;
        else if (kind === 3) req = `GET /big.bin HTTP/1.1\r\nHost: s\r\nRange: bytes=1000-1999\r\n${conn}\r\n`;
        else if (kind === 4) req = `GET /nothing-${id} HTTP/1.1\r\nHost: s\r\n${conn}\r\n`;
        else req = `GET /big.bin HTTP/1.1\r\nHost: s\r\n${conn}\r\n`;
        // A keep-alive exchange ends with its one response (HEAD: the head alone).
        const whole = (d: Buffer) => {
          const p = parseResponse(d);
          return p !== null && (kind === 2 || p.body.length === Number(p.headers.get('content-length') ?? '0'));
        };
        const r = await exchange(srv.port, [Buffer.from(req)], 10_000, 0, keep ? whole : null);
        report.requests++;
        const p = parseResponse(r.data);
        if (p === null) {
          fail(`${req.split('\r\n')[0]}: no response (${r.closed ? 'closed' : 'timed out'})`);
          continue;
        }
        const ok =
          kind === 0 ? p.status === 200 && VERSION.test(p.body.toString('latin1')) && Number(VERSION.exec(p.body.toString('latin1'))![1]) % 5000 === VERSION.exec(p.body.toString('latin1'))![2]!.length
          : kind === 1 ? p.status === 200 && p.body.toString().includes('reference page')
          : kind === 2 ? p.status === 200 && p.headers.get('content-length') === String(256 * 1024)
          : kind === 3 ? p.status === 206 && p.body.length === 1000 && p.body.every((c) => c === 0x5a)
          : kind === 4 ? p.status === 404
          : p.status === 200 && p.body.length === 256 * 1024;
        if (!ok) fail(`${req.split('\r\n')[0]}: status ${p.status}, ${p.body.length} bytes`);
      }
    };
    await Promise.all([writer(), ...Array.from({ length: options.concurrency ?? 16 }, (_, i) => client(i))]);
    report.serverAlive = srv.alive();
  } finally {
    await srv.stop();
  }
  await resources.after();
  return report;
}
