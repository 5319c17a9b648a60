// Servers never stop silently when their syscall entries run out (issue 8, defect 3). Each open
// connection holds waiting calls (its read, its idle timer) in the syscall pages; with the pages
// full, a server used to hold its own re-posted accept back, and new clients timed out with no log
// line. Now libflexsc adds pages at run time when a thread's entries run out, up to a limit (the
// host's --max-pages, 1,024 by default), and past that limit the examples refuse connections as
// memcached's -c does: closed at once, counted, logged once (and once more, with the count, when
// they accept again), with an accept always posted. The first tests start with two pages and keep
// more idle clients than those hold: every one is served (pages were added). The others cap the
// pages at four (--max-pages 4) and check that every client is either served or refused at once,
// that a new client is refused cleanly while they are held and served once some leave, and that
// the server says so once and counts.
// Real sockets: the os kernel (npm run test:native runs it on native).
import * as net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers/e2e.js';
import { Child, killChildren } from './helpers/os-e2e.js';

const KERNEL = process.env.FLEXVM_TEST_REAL_KERNEL === 'native' ? 'native' : 'os';
const CLIENTS = 320;
const PAGES = '$PAGES';
const withPages = (args: readonly string[], pages: number): string[] => args.map((a) => (a === PAGES ? String(pages) : a));

test.after(async () => {
  await killChildren();
});

type Outcome = 'served' | 'refused' | 'silent';

/** One client: sends `probe` and waits for `answer` (served) or the server closing first (refused). */
function client(port: number, probe: string, answer: RegExp, keep: net.Socket[], ms = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (o === 'served') keep.push(s);
      else s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish('silent'), ms);
    s.on('connect', () => s.write(probe));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (answer.test(got)) finish('served');
    });
    s.on('end', () => finish('refused'));
    s.on('close', () => finish('refused'));
    s.on('error', () => finish('refused'));
  });
}

interface Server {
  readonly name: string;
  /** The guest and its arguments; `PAGES` stands for its starting number of syscall pages. */
  readonly args: readonly string[];
  readonly probe: string;
  readonly answer: RegExp;
  /** What the server logs once when it starts refusing, and what it counts. */
  readonly logged: RegExp;
}

const SERVERS: readonly Server[] = [
  {
    name: 'echo',
    args: [join(ROOT, 'examples/echo/server.wasm'), '--', '--port', '0', '--pages', PAGES, '--idle-ms', '60000'],
    probe: 'x',
    answer: /x/,
    logged: /echo-server: refusing new connections, \d+ open: its syscall pages hold no more waiting calls/g,
  },
  {
    name: 'httpd',
    args: ['--dir', `${join(ROOT, 'examples/httpd/www')}:/www:ro`, join(ROOT, 'examples/httpd/server.wasm'), '--', '--root', '/www', '--port', '0', '--pages', PAGES, '--idle-ms', '60000'],
    probe: 'GET / HTTP/1.1\r\nHost: t\r\n\r\n',
    answer: /^HTTP\/1\.1 200 [\s\S]*\r\n\r\n/,
    logged: /httpd: refusing new connections, \d+ open: its syscall pages hold no more waiting calls/g,
  },
  {
    name: 'kv',
    args: [join(ROOT, 'examples/kv/server.wasm'), '--', '-p', '0', '--pages', PAGES],
    probe: 'version\r\n',
    answer: /^VERSION /,
    logged: /kv: refusing new connections, \d+ open: its syscall pages hold no more waiting calls/g,
  },
];

for (const srv of SERVERS) {
  test(`${srv.name} [${KERNEL}]: more idle clients than its first syscall pages hold are all served (pages added at run time)`, async () => {
    const server = Child.cli(['run', '--kernel', KERNEL, '--stats', ...withPages(srv.args, 2)], { fdLimit: 4096 });
    const held: net.Socket[] = [];
    try {
      const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000))[1]);
      const outcomes: Outcome[] = [];
      for (let i = 0; i < CLIENTS; i += 16) {
        outcomes.push(...(await Promise.all(Array.from({ length: 16 }, () => client(port, srv.probe, srv.answer, held)))));
      }
      const served = outcomes.filter((o) => o === 'served').length;
      // Two pages hold about 110 waiting calls; every client holds at least its read.
      assert.is(served, CLIENTS, `served ${served} of ${CLIENTS}: ${outcomes.filter((o) => o !== 'served').join(',')}\n${server.stderr}`);
      assert.not.match(server.stderr, /refusing new connections/);
      // Every one of them still works: its read was posted in a page added at run time or before.
      // (What is left of a first answer may arrive first: the second is looked for anywhere after it.)
      const again = new RegExp(srv.answer.source.replace(/^\^/, ''));
      const echoes = await Promise.all(held.map((s) => new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000);
        let got = '';
        s.removeAllListeners('data');
        s.on('data', (d: Buffer) => {
          got += d.toString('latin1');
          if (again.test(got)) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        s.write(srv.probe);
      })));
      assert.is(echoes.filter(Boolean).length, CLIENTS, 'every held client answered again');
      for (const s of held.splice(0)) s.destroy();
      const r = await server.interrupt();
      assert.ok(r.code === 130 || r.code === 0, `exit ${r.code}: ${server.stderr}`);
      const pages = /syscall pages:\s+(\d+) of at most (\d+) \((\d+) batch/.exec(server.stderr);
      assert.ok(pages, `statistics name the pages added:\n${server.stderr}`);
      assert.ok(Number(pages![1]) > 2, `pages registered: ${pages![1]}`);
    } finally {
      for (const s of held) s.destroy();
      if (server.running) await server.interrupt(2000);
    }
  });

  test(`${srv.name} [${KERNEL}]: past what its syscall pages may hold (--max-pages), new clients are refused at once, counted and logged once; served again once some leave`, async () => {
    const server = Child.cli(['run', '--kernel', KERNEL, '--max-pages', '4', ...withPages(srv.args, 4)], { fdLimit: 4096 });
    const held: net.Socket[] = [];
    try {
      const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000))[1]);
      const outcomes: Outcome[] = [];
      // In small batches: every client of a batch is served or refused before the next begins.
      for (let i = 0; i < CLIENTS; i += 16) {
        outcomes.push(...(await Promise.all(Array.from({ length: 16 }, () => client(port, srv.probe, srv.answer, held)))));
      }
      const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
      assert.is(count('silent'), 0, `clients neither served nor refused: ${count('silent')}`);
      assert.ok(count('served') >= 100, `served ${count('served')}`);
      assert.ok(count('refused') >= 1, 'more clients than the pages hold: some are refused');
      // Once the pages are full, every later batch is refused (nobody left meanwhile).
      const firstBatchRefused = Math.floor(outcomes.indexOf('refused') / 16);
      assert.ok(outcomes.slice((firstBatchRefused + 1) * 16).every((o) => o === 'refused'), 'no client served after the batch of the first refusal');
      // While they are all held, a new client is refused at once.
      assert.is(await client(port, srv.probe, srv.answer, held, 3000), 'refused');
      // Some leave: a new client is served.
      for (const s of held.splice(0, 8)) s.destroy();
      let after: Outcome = 'refused';
      let refused = count('refused') + 1;
      for (let tries = 0; tries < 50 && after !== 'served'; tries++) {
        await new Promise((r) => setTimeout(r, 50));
        after = await client(port, srv.probe, srv.answer, held, 3000);
        assert.not.equal(after, 'silent');
        if (after === 'refused') refused++;
      }
      assert.is(after, 'served', 'a client is served again once connections left');
      // The guest's standard error reaches us on its own path, maybe after the answers: wait for it.
      const prog = srv.name === 'echo' ? 'echo-server' : srv.name;
      const again = srv.name === 'kv' ? `rejected_connections ${refused}\\)` : `refused ${refused} meanwhile, ${refused} in all\\)`;
      await server.waitFor(new RegExp(`${prog}: accepting connections again, \\d+ open \\(${again}`), 5000);
      const logged = server.stderr.match(srv.logged) ?? [];
      assert.is(logged.length, 1, `the refusal is logged once:\n${server.stderr}`);
      if (srv.name === 'kv') {
        const stats = await statsOf(port);
        assert.is(stats.get('rejected_connections'), String(refused), 'counted in stats');
      }
      for (const s of held.splice(0)) s.destroy();
      const r = await server.interrupt();
      assert.ok(r.code === 130 || r.code === 0, `exit ${r.code}: ${server.stderr}`);
    } finally {
      for (const s of held) s.destroy();
      if (server.running) await server.interrupt(2000);
    }
  });
}

/** kv's `stats` over a fresh connection (waits for one to be admitted). */
async function statsOf(port: number): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('stats\r\n'));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('END\r\n')) {
        s.destroy();
        resolve(new Map(got.split('\r\n').filter((l) => l.startsWith('STAT ')).map((l) => [l.split(' ')[1]!, l.split(' ')[2]!])));
      }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no stats: ${got}`)), 3000);
  });
}

test.run();
