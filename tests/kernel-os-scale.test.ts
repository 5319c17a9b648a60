import { spawn, type ChildProcess } from 'node:child_process';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET, EAGAIN, EF_NOWAIT, SOCK_STREAM, SYS_accept4, SYS_bind, SYS_getsockname, SYS_listen, SYS_read, SYS_socket } from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, PendingCall, settled, within } from './helpers/kernel-harness.js';

/**
 * Many idle connections: a child process (so the client sockets cost this process nothing and the
 * descriptors are split between two processes) opens N connections to a guest listener; the guest
 * accepts them all and parks a read on each, as an idle server does. The memory this process gained
 * per connection is printed. N defaults to 2000 to keep the suite fast; set FLEXVM_OS_CONNECTIONS=10000
 * to hold ten thousand (each process then needs `ulimit -n` above 10,100).
 */
const N = Number(process.env.FLEXVM_OS_CONNECTIONS ?? 2000);

const CLIENT = `
const net = require('node:net');
const port = Number(process.env.PORT), n = Number(process.env.N);
const socks = [];
let connected = 0;
function batch() {
  for (let k = 0; k < 250 && socks.length < n; k++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', (e) => { process.stderr.write('client error ' + e.code + '\\n'); process.exit(2); });
    s.on('connect', () => { if (++connected === n) process.stdout.write('ready\\n'); else if (connected === socks.length) batch(); });
    socks.push(s);
  }
}
batch();
process.stdin.on('data', (d) => { if (String(d).includes('ping')) for (const s of socks) s.write('x'); });
`;

let child: ChildProcess | null = null;
const fx = new Fixtures<OsProcess>({ close: true });

const test = fx.guard(uvuTest);
test.after.each(() => {
  child?.kill();
  child = null;
});

function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function usage() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

test(`${N} concurrent idle connections, each with a parked read`, async () => {
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, log: () => {} });
  const h = fx.harness(k);
  const p = h.spawn({ limits: { maxFds: N + 100 } });
  const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  assert.is(now(p.sys(SYS_bind, l, p.sockaddr(0), 16)), 0);
  assert.is(now(p.sys(SYS_listen, l, 4096)), 0);
  const addr = p.alloc(16);
  now(p.sys(SYS_getsockname, l, addr, p.int(16)));
  const port = p.readSockaddr(addr).port;
  const bufs = p.alloc(N * 4, 4);

  const before = usage();
  const started = Date.now();
  const c = spawn(process.execPath, ['-e', CLIENT], { env: { ...process.env, PORT: String(port), N: String(N) }, stdio: ['pipe', 'pipe', 'inherit'] });
  child = c;
  const exited = new Promise<number | null>((r) => c.once('exit', r));

  // Accept as connections arrive: drain what is queued, then wait in accept4 for the next one.
  const fds: number[] = [];
  while (fds.length < N) {
    const r = p.sysWith({ flags: EF_NOWAIT }, SYS_accept4, l, 0, 0, 0) as number;
    if (r >= 0) {
      fds.push(r);
      continue;
    }
    assert.is(r, -EAGAIN);
    const fd = await Promise.race([settled(p.sys(SYS_accept4, l, 0, 0, 0), 20000), exited.then((code) => Promise.reject(new Error(`client exited ${code}`)))]);
    assert.ok(fd >= 0, `accept4 returned ${fd}`);
    fds.push(fd);
  }
  const reads = fds.map((fd, i) => p.sys(SYS_read, fd, bufs + i * 4, 4));
  assert.ok(reads.every((r) => r instanceof PendingCall), 'every connection is idle, its read parked');
  await within(new Promise<void>((r) => c.stdout!.on('data', (d) => String(d).includes('ready') && r())), 20000, 'clients ready');
  const after = usage();
  const perConnection = {
    heap: Math.round((after.heap - before.heap) / N),
    external: Math.round((after.external - before.external) / N),
    rss: Math.round((after.rss - before.rss) / N),
  };
  console.log(`  ${N} idle connections in ${Date.now() - started} ms; per connection: heap ${perConnection.heap} B, external ${perConnection.external} B, rss ${perConnection.rss} B`);
  assert.ok(perConnection.heap + perConnection.external < 16 * 1024, 'a few KiB of JS memory per idle connection');

  // Wake every one of them.
  c.stdin!.write('ping\n');
  const results = await within(Promise.all(reads.map((r) => settled(r, 20000))), 20000, 'reads');
  assert.ok(results.every((n) => n === 1));
});

test.run();
