// The VM's own memory under load, apart from its clients':
//   npm run build && node --expose-gc scripts/soak-memory.mjs [--target httpd|kv] [--kernel os|native]
//     [--mode exceptionless|sync|epoll] [--phases 4] [--phase-seconds 30] [--concurrency 16]
//     [--clients child|here] [--malloc]
// The server (httpd or kv) runs in this process; its clients (httpd: one request a connection,
// keep-alive or not, a small page or 256 KiB; kv: set and get on long connections) run in phases in
// a child process (`--clients here`: in this process, as `npm run soak` does). After each phase,
// once idle and collected, one JSON line: requests so far, RSS, V8 heap, and with `--malloc` glibc
// malloc's bytes in use and held from the system (malloc_stats() through gdb attached for a
// moment; needs gdb and ptrace permission), and RSS again after malloc_trim(0). The guest's memory
// size is printed when it ends. A leak grows with requests; a cache or an allocator's high-water mark
// stays level from phase to phase.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
if (args.includes('--help') || args.includes('-h')) {
  // The comment at the top of this file is the usage.
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0];
  console.log(text.replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
const target = opt('--target', 'httpd');
const seconds = Number(opt('--phase-seconds', '30'));
const concurrency = Number(opt('--concurrency', '16'));

if (args[0] === '--load') {
  // The child: `--load PORT` with the options above; prints what it did.
  process.stdout.write(JSON.stringify(await load(Number(args[1]))) + '\n');
  process.exit(0);
}

const { VM } = await import('../build/host/vm/vm.js');
const kernel = opt('--kernel', 'native');
const mode = opt('--mode', 'exceptionless');
const phases = Number(opt('--phases', '4'));
const clientsHere = opt('--clients', 'child') === 'here';
const withMalloc = args.includes('--malloc');
const mib = (n) => Math.round((n / 1048576) * 10) / 10;

const dir = mkdtempSync(join(tmpdir(), 'flexvm-soak-memory-'));
writeFileSync(join(dir, 'index.html'), '<p>reference page</p>\n');
writeFileSync(join(dir, 'big.bin'), Buffer.alloc(256 * 1024, 0x5a));
const vm = await VM.create({ kernel, mode, syscallThreads: 2 });
const root = fileURLToPath(new URL('..', import.meta.url));
const guest = await vm.spawn(join(root, 'examples', target, 'server.wasm'), {
  args: target === 'kv' ? ['-p', '0'] : ['--root', '/www', '--port', '0'],
  dirs: target === 'kv' ? [] : [`${dir}:/www`],
  stdout: () => {},
  stderr: () => {},
});
const port = Number((await guest.ready).split(':').pop());

/** glibc's totals from malloc_stats(), which prints on the process's standard error: sent to a file meanwhile. */
function mallocFigures() {
  const file = join(dir, 'malloc-stats.txt');
  execFileSync('gdb', ['-p', String(process.pid), '-batch', '-nx',
    '-ex', `call (int)dup(2)`,
    '-ex', `call (int)dup2((int)open("${file}", 577, 420), 2)`,
    '-ex', 'call (void)malloc_stats()',
    '-ex', 'call (int)dup2($1, 2)',
    '-ex', 'call (int)close($1)',
    '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore' });
  const t = readFileSync(file, 'utf8');
  const total = /Total \(incl\. mmap\):\s*\nsystem bytes\s*=\s*(\d+)\s*\nin use bytes\s*=\s*(\d+)/.exec(t);
  return total ? { mallocHeldMiB: mib(Number(total[1])), mallocInUseMiB: mib(Number(total[2])), rssTrimmedMiB: mib(process.memoryUsage().rss) } : {};
}

let requests = 0;
async function report(label) {
  await new Promise((r) => setTimeout(r, 3000)); // the server closes what the clients left
  if (global.gc) global.gc();
  const m = process.memoryUsage();
  const line = { label, requests, rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external) };
  console.log(JSON.stringify(withMalloc ? { ...line, ...mallocFigures() } : line));
}

await report('start');
for (let p = 1; p <= phases; p++) {
  let done;
  if (clientsHere) done = await load(port);
  else {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--load', String(port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => child.on('exit', r));
    done = JSON.parse(out);
  }
  requests += done.requests;
  if (done.errors > 0) console.log(JSON.stringify({ phase: p, errors: done.errors }));
  await report(`phase ${p}`);
}
guest.kill();
const result = await guest.exited;
console.log(JSON.stringify({ label: 'end', guestMemoryMiB: mib(result.stats.memoryBytes) }));
await vm.close();
rmSync(dir, { recursive: true, force: true });

/** One phase of clients against `port`: { requests, errors }. */
async function load(port) {
  const until = Date.now() + seconds * 1000;
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const done = { requests: 0, errors: 0 };
  // Writes `req`, resolves once `complete(received)` says the answer is whole or the server closes
  // (`complete` null: the server closes after the answer).
  const exchange = (s, req, complete) =>
    new Promise((resolve) => {
      let got = Buffer.alloc(0);
      const finish = (ok) => {
        s.off('data', onData);
        s.off('close', onClose);
        clearTimeout(timer);
        resolve(ok);
      };
      const onData = (d) => {
        got = Buffer.concat([got, d]);
        if (complete !== null && complete(got)) finish(true);
      };
      const onClose = () => finish(complete === null && got.length > 0);
      const timer = setTimeout(() => finish(false), 10_000);
      s.on('data', onData);
      s.on('close', onClose);
      s.write(req);
    });
  const open = () =>
    new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.once('connect', () => resolve(s));
      s.once('close', () => resolve(s));
    });
  const httpdClient = async () => {
    while (Date.now() < until) {
      const keep = rnd() < 0.5;
      const big = rnd() < 0.3;
      const want = big ? 256 * 1024 : 22;
      const s = await open();
      const whole = (d) => {
        const e = d.indexOf('\r\n\r\n');
        return e >= 0 && d.length - e - 4 >= want;
      };
      const ok = await exchange(s, `GET /${big ? 'big.bin' : 'index.html'} HTTP/1.1\r\nHost: s\r\n${keep ? '' : 'Connection: close\r\n'}\r\n`, keep ? whole : null);
      s.destroy();
      done.requests++;
      if (!ok) done.errors++;
    }
  };
  const kvClient = async (id) => {
    while (Date.now() < until) {
      const s = await open();
      for (let n = 0; n < 2000 && Date.now() < until && !s.destroyed; n++) {
        const key = `k${id}-${Math.floor(rnd() * 64)}`;
        const value = 'x'.repeat(1 + Math.floor(rnd() * 200));
        const set = rnd() < 0.5;
        const ok = await exchange(s, set ? `set ${key} 0 0 ${value.length}\r\n${value}\r\n` : `get ${key}\r\n`, (d) => /(STORED|END)\r\n$/.test(d.toString('latin1')));
        done.requests++;
        if (!ok) done.errors++;
      }
      s.destroy();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => (target === 'kv' ? kvClient(i) : httpdClient())));
  return done;
}
