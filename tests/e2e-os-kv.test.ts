// The kv example on the os kernel with real clients over loopback: libmemcached's memccapable
// (its ASCII protocol checks, in full) and memccp/memccat/memcrm/memcstat from Debian's
// libmemcached-tools, a Node memcached client from npm (memcache-client), many connections writing
// and reading back random binary values, the general stats, a client that vanishes mid-value,
// memory under -m whatever is sent, and the `flexvm kv` command line a memcached script would use.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemcacheClient } from 'memcache-client';
import type { Mode } from '../host/vm/vm.js';
import { MODES, VmPool, type Running } from './helpers/e2e.js';
import { Child, hasProgram, killChildren, patternBytes, randomInts, runProgram, within } from './helpers/os-e2e.js';
import { startKv } from './helpers/kv.js';

const pool = new VmPool({ kernel: 'os' });
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-os-kv-'));
test.after.each(killChildren);
test.after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Tests that drive libmemcached-tools: skipped outside CI when missing, failing in CI (.ci/run installs it). */
function toolsTest(): (name: string, fn: () => Promise<void>) => void {
  if (hasProgram('memccapable')) return test;
  if (process.env.CI) return (name) => test(name, () => assert.unreachable('memccapable is not installed: CI must provide it (.ci/run installs libmemcached-tools)'));
  console.log('  (libmemcached-tools is not installed: its tests in e2e-os-kv are skipped; CI installs it)');
  return test.skip;
}
const withTools = toolsTest();

async function stop(server: Running): Promise<void> {
  server.guest.kill();
  await server.done.catch(() => {});
}

/** A raw connection that collects what it receives. */
class Raw {
  readonly socket: net.Socket;
  data = Buffer.alloc(0);
  closed = false;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d) => (this.data = Buffer.concat([this.data, d])));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => {});
  }
  async ready(): Promise<void> {
    if (this.socket.connecting) await new Promise((r) => this.socket.once('connect', r));
  }
  /** Waits until the received bytes end with `tail`; returns them all and starts afresh. */
  async until(tail: string | Buffer, ms = 10_000): Promise<Buffer> {
    const t = typeof tail === 'string' ? Buffer.from(tail) : tail;
    const until = Date.now() + ms;
    while (!(this.data.length >= t.length && this.data.subarray(this.data.length - t.length).equals(t))) {
      if (this.closed || Date.now() > until) throw new Error(`no ${JSON.stringify(t.toString('latin1').slice(-40))}: got ${this.data.length} bytes ${JSON.stringify(this.data.subarray(0, 200).toString('latin1'))}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const all = this.data;
    this.data = Buffer.alloc(0);
    return all;
  }
  async request(cmd: string | Buffer, tail: string): Promise<string> {
    this.socket.write(cmd);
    return (await this.until(tail)).toString('latin1');
  }
  close(): void {
    this.socket.destroy();
  }
}

async function stats(port: number, sub = ''): Promise<Map<string, string>> {
  const c = new Raw(port);
  const text = await c.request(`stats${sub ? ' ' + sub : ''}\r\n`, 'END\r\n');
  c.close();
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const p = line.split(' ');
    if (p[0] === 'STAT') m.set(p[1]!, p.slice(2).join(' '));
  }
  return m;
}

for (const mode of MODES) {
  withTools(`memccapable passes in full, text and binary protocols [${mode}]`, async () => {
    const { server, port } = await startKv(await pool.get(1), mode);
    try {
      const r = await runProgram('memccapable', ['-h', '127.0.0.1', '-p', String(port), '-t', '10'], { timeoutMs: 60_000 });
      const out = r.stdout.toString() + r.stderr;
      assert.match(out, /All tests passed/, out);
      assert.not.match(out, /\[FAIL\]/, out);
      assert.is(r.code, 0, out);
    } finally {
      await stop(server);
    }
  });
}

for (const binary of [false, true]) withTools(`memccp, memccat, memcrm, memcstat${binary ? ' (--binary)' : ''}`, async () => {
  const { server, port } = await startKv(await pool.get(2), 'exceptionless');
  try {
    const servers = binary ? [`--servers=127.0.0.1:${port}`, '--binary'] : [`--servers=127.0.0.1:${port}`];
    const file = join(tmp, 'payload.bin');
    const payload = patternBytes(200_000, 7);
    writeFileSync(file, payload);
    let r = await runProgram('memccp', [...servers, file], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stderr);
    r = await runProgram('memccat', [...servers, 'payload.bin'], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stderr);
    // memccat ends each value it prints with a newline.
    assert.ok(r.stdout.subarray(0, -1).equals(payload) && r.stdout.at(-1) === 10, 'memccat returns the bytes memccp stored');
    r = await runProgram('memcstat', [...servers], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /curr_items: 1/);
    assert.match(r.stdout.toString(), /version: 1\.6\./);
    r = await runProgram('memcrm', [...servers, 'payload.bin'], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stderr);
    r = await runProgram('memccat', [...servers, 'payload.bin'], { timeoutMs: 20_000 });
    assert.is.not(r.code, 0, 'gone after memcrm');
  } finally {
    await stop(server);
  }
});

for (const mode of MODES) {
  test(`a Node memcached client (memcache-client) [${mode}]`, async () => {
    const { server, port } = await startKv(await pool.get(1), mode);
    const client = new MemcacheClient({ server: `127.0.0.1:${port}`, cmdTimeout: 5000 });
    try {
      await client.set('greeting', 'hello');
      assert.is((await client.get<string>('greeting')).value, 'hello');
      await client.set('obj', { a: 1, b: [2, 3] });
      assert.equal((await client.get<object>('obj')).value, { a: 1, b: [2, 3] });
      const buf = patternBytes(50_000, 3);
      await client.set('buf', buf);
      assert.ok(Buffer.from((await client.get<Buffer>('buf')).value).equals(buf));
      const many = await client.get<string>(['greeting', 'missing', 'obj']);
      assert.equal(Object.keys(many).sort(), ['greeting', 'obj']);
      await client.set('n', '41');
      assert.is(await client.incr('n', 1), '42');
      const g = await client.gets<string>('n');
      await client.cas('n', '50', { casUniq: g.casUniq });
      assert.is((await client.get<string>('n')).value, '50');
      await client.delete('greeting');
      assert.is(await client.get('greeting'), undefined);
      await client.touch('n', 100);
    } finally {
      client.shutdown();
      await stop(server);
    }
  });
}

for (const mode of MODES) {
  test(`consistency: 32 connections write 3,200 random binary values, every one reads back intact [${mode}]`, async () => {
    const { server, port } = await startKv(await pool.get(2), mode, ['-m', '256']);
    try {
      const rnd = randomInts(mode.length * 7919);
      const values = new Map<string, Buffer>();
      for (let i = 0; i < 3200; i++) values.set(`key:${mode}:${i}`, patternBytes(rnd(0, 40_000), i + 1));
      const keys = [...values.keys()];
      const conns = Array.from({ length: 32 }, () => new Raw(port));
      await Promise.all(conns.map((c) => c.ready()));
      // Each connection pipelines its share of sets in one go.
      await within(
        Promise.all(
          conns.map(async (c, ci) => {
            const mine = keys.filter((_, i) => i % conns.length === ci);
            const parts = mine.flatMap((k) => [Buffer.from(`set ${k} ${ci} 0 ${values.get(k)!.length}\r\n`), values.get(k)!, Buffer.from('\r\n')]);
            c.socket.write(Buffer.concat(parts));
            const replies = (await c.until('STORED\r\n'.repeat(1))).toString();
            let n = replies.split('STORED\r\n').length - 1;
            while (n < mine.length) n += (await c.until('STORED\r\n')).toString().split('STORED\r\n').length - 1;
            assert.is(n, mine.length);
          }),
        ),
        60_000,
        'the sets',
      );
      // Read back with multigets from other connections.
      await within(
        Promise.all(
          conns.map(async (c, ci) => {
            const mine = keys.filter((_, i) => (i + 1) % conns.length === ci);
            const got = await c.until(await Promise.resolve(c.socket.write(`get ${mine.join(' ')}\r\n`)) ? 'END\r\n' : 'END\r\n', 30_000);
            let at = 0;
            for (const k of mine) {
              const head = `VALUE ${k} `;
              assert.is(got.toString('latin1', at, at + head.length), head, `value of ${k}`);
              const eol = got.indexOf('\r\n', at);
              const len = Number(got.toString('latin1', at, eol).split(' ')[3]);
              const v = got.subarray(eol + 2, eol + 2 + len);
              assert.ok(v.equals(values.get(k)!), `${k}: ${len} bytes intact`);
              at = eol + 2 + len + 2;
            }
            assert.is(got.toString('latin1', at), 'END\r\n');
          }),
        ),
        60_000,
        'the gets',
      );
      for (const c of conns) c.close();
      const s = await stats(port);
      assert.is(s.get('curr_items'), '3200');
      assert.is(s.get('evictions'), '0');
    } finally {
      await stop(server);
    }
  });
}

test('stats: the general counters clients and monitoring read', async () => {
  const { server, port } = await startKv(await pool.get(1), 'exceptionless', ['-m', '8', '-c', '500']);
  try {
    const c = new Raw(port);
    await c.request('set a 0 0 1\r\n1\r\nget a b\r\nincr a 1\r\ndecr zz 1\r\ndelete b\r\ntouch a 10\r\nflush_all\r\n', 'OK\r\n');
    const s = await stats(port);
    for (const name of ['pid', 'uptime', 'time', 'version', 'curr_connections', 'total_connections', 'cmd_get', 'cmd_set', 'cmd_flush', 'cmd_touch', 'get_hits', 'get_misses', 'get_expired', 'delete_hits', 'delete_misses', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'cas_hits', 'cas_misses', 'cas_badval', 'bytes_read', 'bytes_written', 'limit_maxbytes', 'threads', 'curr_items', 'total_items', 'bytes', 'evictions', 'reclaimed']) {
      assert.ok(s.has(name), `stats has ${name}`);
    }
    assert.is(s.get('cmd_get'), '2');
    assert.is(s.get('get_hits'), '1');
    assert.is(s.get('get_misses'), '1');
    assert.is(s.get('cmd_set'), '1');
    assert.is(s.get('incr_hits'), '1');
    assert.is(s.get('decr_misses'), '1');
    assert.is(s.get('delete_misses'), '1');
    assert.is(s.get('cmd_flush'), '1');
    assert.is(s.get('limit_maxbytes'), String(8 * 1024 * 1024));
    assert.is(s.get('curr_connections'), '2');
    assert.ok(Math.abs(Number(s.get('time')) - Date.now() / 1000) < 5, 'time is Unix time');
    const settings = await stats(port, 'settings');
    assert.is(settings.get('maxconns'), '500');
    assert.is(settings.get('item_size_max'), '1048576');
    assert.is(settings.get('maxbytes'), String(8 * 1024 * 1024));
    await c.request('set x 0 0 5\r\nhello\r\n', 'STORED\r\n');
    const items = await stats(port, 'items');
    assert.ok([...items.keys()].some((k) => /^items:\d+:number$/.test(k)), 'stats items');
    const slabs = await stats(port, 'slabs');
    assert.ok(slabs.has('active_slabs'), 'stats slabs');
    c.close();
  } finally {
    await stop(server);
  }
});

test('a client vanishing mid-value stores nothing and harms no one; memory stays under -m', async () => {
  const { server, port } = await startKv(await pool.get(1), 'exceptionless', ['-m', '4']);
  try {
    const good = new Raw(port);
    await good.request('set keep 0 0 4\r\nsafe\r\n', 'STORED\r\n');
    for (let i = 0; i < 20; i++) {
      const bad = new Raw(port);
      await bad.ready();
      bad.socket.write(`set gone${i} 0 0 500000\r\n`);
      bad.socket.write(Buffer.alloc(200_000, 0x41));
      await new Promise((r) => setTimeout(r, 5));
      bad.socket.destroy();
    }
    // Far more than -m in large values: evictions, never more memory.
    const big = Buffer.alloc(500_000, 0x42);
    for (let i = 0; i < 40; i++) await good.request(Buffer.concat([Buffer.from(`set big${i} 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n')]), '\r\n');
    const got = await good.request('get big39\r\n', 'END\r\n');
    assert.ok(got.startsWith('VALUE big39 0 500000\r\n'), 'the newest large value is there');
    const s = await stats(port);
    assert.ok(Number(s.get('total_malloced')) <= 4 * 1024 * 1024, `slab memory ${s.get('total_malloced')} within -m 4`);
    assert.ok(Number(s.get('bytes')) <= 4 * 1024 * 1024);
    assert.ok(Number(s.get('evictions')) > 0, 'evicted');
    for (let i = 0; i < 20; i++) assert.is(await good.request(`get gone${i}\r\n`, 'END\r\n'), 'END\r\n');
    good.close();
  } finally {
    await stop(server);
  }
});

test('flexvm kv: the command line a memcached script uses', async () => {
  const bad = spawnSync(process.execPath, ['build/host/cli/main.js', 'kv', '-d'], { encoding: 'utf8', timeout: 20_000 });
  assert.is(bad.status, 64);
  assert.match(bad.stderr, /-d \(daemonize\) is not supported/);
  const udp = spawnSync(process.execPath, ['build/host/cli/main.js', 'kv', '-U', '11211'], { encoding: 'utf8', timeout: 20_000 });
  assert.is(udp.status, 64);
  assert.match(udp.stderr, /UDP is not supported/);
  const v = spawnSync(process.execPath, ['build/host/cli/main.js', 'kv', '-V'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(v.stdout, /^memcached 1\.6\.\d+/);
  const h = spawnSync(process.execPath, ['build/host/cli/main.js', 'kv', '-h'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(h.stdout, /-m, --memory-limit/);
  const kv = Child.cli(['kv', '-p', '0', '-m', '16', '-c', '64', '-t', '2', '-u', 'nobody', '-o', 'modern', '-vv']);
  const m = await kv.waitFor(/kv: listening on 127\.0\.0\.1:(\d+)/, 20_000);
  const port = Number(m[1]);
  assert.match(kv.stderr, /ignoring extended option -o modern/);
  const c = new Raw(port);
  assert.is(await c.request('set cli 0 0 2\r\nok\r\nget cli\r\n', 'END\r\n'), 'STORED\r\nVALUE cli 0 2\r\nok\r\nEND\r\n');
  const s = await stats(port, 'settings');
  assert.is(s.get('maxconns'), '64');
  assert.is(s.get('maxbytes'), String(16 * 1024 * 1024));
  const g = await stats(port);
  assert.is(g.get('threads'), '2', '-t 2: two syscall threads');
  await kv.waitFor(/<\d+ set cli 0 0 2/, 5_000);
  c.close();
  await kv.interrupt();
});

// ---------------------------------------------------------------- the binary protocol, byte for byte

interface BinResponse {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
}

/** One binary request (protocol_binary.h's 24-byte header, then extras, key, value). */
function binRequest(opcode: number, o: { key?: string | Buffer; extras?: Buffer; value?: Buffer; cas?: bigint; opaque?: number; magic?: number } = {}): Buffer {
  const key = typeof o.key === 'string' ? Buffer.from(o.key) : (o.key ?? Buffer.alloc(0));
  const extras = o.extras ?? Buffer.alloc(0);
  const value = o.value ?? Buffer.alloc(0);
  const h = Buffer.alloc(24);
  h[0] = o.magic ?? 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(o.opaque ?? opcode, 12);
  h.writeBigUInt64BE(o.cas ?? 0n, 16);
  return Buffer.concat([h, extras, key, value]);
}

const be32 = (...v: number[]): Buffer => Buffer.concat(v.map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x >>> 0); return b; }));
const be64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return b; };

/** Reads `n` binary responses from a raw connection. */
async function binResponses(c: Raw, n: number, ms = 10_000): Promise<BinResponse[]> {
  const out: BinResponse[] = [];
  const until = Date.now() + ms;
  while (out.length < n) {
    const d = c.data;
    if (d.length >= 24 && d.length >= 24 + d.readUInt32BE(8)) {
      assert.is(d[0], 0x81, 'response magic');
      const keylen = d.readUInt16BE(2);
      const extlen = d[4]!;
      const body = d.readUInt32BE(8);
      out.push({ opcode: d[1]!, status: d.readUInt16BE(6), opaque: d.readUInt32BE(12), cas: d.readBigUInt64BE(16), extras: d.subarray(24, 24 + extlen), key: d.subarray(24 + extlen, 24 + extlen + keylen), value: d.subarray(24 + extlen + keylen, 24 + body) });
      c.data = d.subarray(24 + body);
      continue;
    }
    if (c.closed || Date.now() > until) throw new Error(`${out.length} of ${n} binary responses (${c.data.length} bytes pending)`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return out;
}

for (const mode of MODES) {
  test(`binary protocol: commands, statuses and quiet forms, byte for byte [${mode}]`, async () => {
    const { server, port } = await startKv(await pool.get(1), mode);
    const c = new Raw(port);
    try {
      await c.ready();
      const set = (key: string, value: string | Buffer, flags = 0, cas = 0n, opcode = 0x01) => binRequest(opcode, { key, extras: be32(flags, 0), value: typeof value === 'string' ? Buffer.from(value) : value, cas });
      // set, get, getk: flags in the extras, the same cas, the key only for the K forms.
      c.socket.write(Buffer.concat([set('k', 'abc', 0xdeadbeef), binRequest(0x00, { key: 'k' }), binRequest(0x0c, { key: 'k' })]));
      let [s, g, gk] = await binResponses(c, 3);
      assert.equal([s!.opcode, s!.status, s!.value.length], [0x01, 0, 0]);
      assert.ok(s!.cas > 0n, 'a cas unique');
      assert.equal([g!.status, g!.extras.readUInt32BE(0), g!.value.toString(), g!.key.length, g!.cas], [0, 0xdeadbeef, 'abc', 0, s!.cas]);
      assert.equal([gk!.key.toString(), gk!.value.toString(), gk!.opaque], ['k', 'abc', 0x0c]);
      // Quiet gets: misses say nothing; a noop ends the batch; hits answer.
      c.socket.write(Buffer.concat([binRequest(0x09, { key: 'nope', opaque: 1 }), binRequest(0x0d, { key: 'k', opaque: 2 }), binRequest(0x0d, { key: 'nope2', opaque: 3 }), binRequest(0x0a, { opaque: 4 })]));
      const quiet = await binResponses(c, 2);
      assert.equal(quiet.map((r) => [r.opcode, r.opaque]), [[0x0d, 2], [0x0a, 4]]);
      // Misses and conflicts, with memcached's statuses and texts.
      c.socket.write(Buffer.concat([
        binRequest(0x00, { key: 'nope' }),
        set('k', 'x', 0, 0n, 0x02), // add an existing key
        set('nope', 'x', 0, 0n, 0x03), // replace a missing key
        binRequest(0x0e, { key: 'nope', value: Buffer.from('x') }), // append to a missing key
        set('k', 'x', 0, s!.cas + 1000n), // set with a cas that does not match
        binRequest(0x04, { key: 'k', cas: s!.cas + 1000n }), // delete with a cas that does not match
        binRequest(0x20), // SASL: not supported
        binRequest(0x00, { key: 'k', extras: be32(1) }), // GET takes no extras
      ]));
      const errs = await binResponses(c, 8);
      assert.equal(errs.map((r) => r.status), [0x0001, 0x0002, 0x0001, 0x0005, 0x0002, 0x0002, 0x0081, 0x0004]);
      assert.equal(errs.map((r) => r.value.toString()), ['Not found', 'Data exists for key.', 'Not found', 'Not stored.', 'Data exists for key.', 'Data exists for key.', 'Unknown command', 'Invalid arguments']);
      // cas that matches, append and prepend, delete.
      c.socket.write(Buffer.concat([set('k', 'mid', 7, s!.cas), binRequest(0x0e, { key: 'k', value: Buffer.from('>') }), binRequest(0x0f, { key: 'k', value: Buffer.from('<') }), binRequest(0x00, { key: 'k' })]));
      const [cs, ap, pp, g2] = await binResponses(c, 4);
      assert.equal([cs!.status, ap!.status, pp!.status, g2!.value.toString(), g2!.extras.readUInt32BE(0)], [0, 0, 0, '<mid>', 7]);
      c.socket.write(Buffer.concat([binRequest(0x04, { key: 'k' }), binRequest(0x04, { key: 'k' })]));
      assert.equal((await binResponses(c, 2)).map((r) => r.status), [0, 0x0001]);
      // incr and decr: a missing counter with the "do not create" expiry, created with its initial value, 64-bit results.
      const delta = (d: bigint, initial: bigint, exp: number) => Buffer.concat([be64(d), be64(initial), be32(exp)]);
      c.socket.write(Buffer.concat([
        binRequest(0x05, { key: 'n', extras: delta(1n, 0n, 0xffffffff) }),
        binRequest(0x05, { key: 'n', extras: delta(1n, 10n, 0) }),
        binRequest(0x05, { key: 'n', extras: delta(5n, 0n, 0) }),
        binRequest(0x06, { key: 'n', extras: delta(100n, 0n, 0) }),
        binRequest(0x05, { key: 'k2', extras: delta(1n, 0n, 0) }),
        set('text', 'abc'),
        binRequest(0x05, { key: 'text', extras: delta(1n, 0n, 0) }),
        binRequest(0x00, { key: 'n' }),
      ]));
      const ar = await binResponses(c, 8);
      assert.equal(ar.map((r) => r.status), [0x0001, 0, 0, 0, 0, 0, 0x0006, 0]);
      assert.equal(ar.slice(1, 5).map((r) => r.value.readBigUInt64BE(0)), [10n, 15n, 0n, 0n]);
      assert.is(ar[7]!.value.toString().trim(), '0', 'the counter is stored as text');
      // A value over many small writes, then one past the item size limit (the connection goes on).
      const big = Buffer.alloc(300_000, 0x61);
      for (let i = 0; i < big.length; i += 777) big[i] = i & 0xff;
      const req = set('big', big);
      for (let i = 0; i < req.length; i += 4096) {
        c.socket.write(req.subarray(i, i + 4096));
        await new Promise((r) => setImmediate(r));
      }
      c.socket.write(Buffer.concat([binRequest(0x00, { key: 'big' }), binRequest(0x01, { key: 'huge', extras: be32(0, 0), value: Buffer.alloc(2 * 1024 * 1024) }), binRequest(0x0a)]));
      const [bs, bg, huge, noop] = await binResponses(c, 4, 30_000);
      assert.is(bs!.status, 0);
      assert.ok(bg!.value.equals(big), 'the value read back intact');
      assert.equal([huge!.status, huge!.value.toString(), noop!.opcode], [0x0003, 'Too large.', 0x0a]);
      // STAT: a packet per line, then an empty one; VERSION.
      c.socket.write(Buffer.concat([binRequest(0x10), binRequest(0x0b)]));
      const stats: BinResponse[] = [];
      for (;;) {
        const [r] = await binResponses(c, 1);
        stats.push(r!);
        if (r!.key.length === 0) break;
      }
      const names = new Map(stats.map((r) => [r.key.toString(), r.value.toString()]));
      assert.ok(Number(names.get('pid')) > 0 && names.has('curr_items') && names.has('cmd_get'), [...names.keys()].join(','));
      const [ver] = await binResponses(c, 1);
      assert.match(ver!.value.toString(), /^1\.6\./);
      // QUIT answers, then closes; a bad magic on a binary connection closes it too.
      c.socket.write(binRequest(0x07));
      const [q] = await binResponses(c, 1);
      assert.is(q!.opcode, 0x07);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(c.closed, 'closed after quit');
      const d = new Raw(port);
      await d.ready();
      d.socket.write(Buffer.concat([binRequest(0x0a), binRequest(0x0a, { magic: 0x42 })]));
      await binResponses(d, 1);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(d.closed, 'closed after a bad magic');
      // A text connection beside them is unaffected.
      const t = new Raw(port);
      assert.is(await t.request('get big\r\n', 'END\r\n'), `VALUE big 0 ${big.length}\r\n${big.toString('latin1')}\r\nEND\r\n`);
      t.close();
    } finally {
      c.close();
      await stop(server);
    }
  });
}

test.run();
