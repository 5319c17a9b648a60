/**
 * The kv server (examples/kv, memcached's protocols) under attack and under load, in this process:
 *
 * - fuzzKv: connections carrying mutated valid commands of the three protocols (text, meta, binary)
 *   and a hostile corpus (lengths that are negative, huge or wrap, keys past 250 bytes, endless
 *   lines, binary headers whose lengths lie, truncated packets, `shutdown` without -A), sent whole
 *   or in random pieces, while a reference client on a connection of its own stores and reads back
 *   values again and again. Every reference answer must be exact, and the server must still run.
 * - soakKv: clients each owning their keys set, replace, delete, increment and read them back
 *   through all three protocols, checking every answer against a model of what was acknowledged;
 *   at the end every acknowledged write is read back. Descriptors, memory and libuv handles of this
 *   process are measured before and after.
 *
 * `flush_all` is left out of both (it would take the reference's keys away mid-check). Used by
 * tests/e2e-os-kv-fuzz.test.ts (short runs) and scripts/fuzz.mjs / scripts/soak.mjs (long ones).
 */
import * as net from 'node:net';
import { join } from 'node:path';
import { VM } from '../../host/vm/vm.js';
import { attackWhileChecking, countResources, mutateBytes, newFuzzReport, type ProtocolFuzzReport, type ResourceReport } from './harness.js';
import { prng } from './prng.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const KV = join(ROOT, 'examples/kv/server.wasm');

export type KvKernel = 'os' | 'native';

export interface ServedKv {
  readonly port: number;
  readonly stderr: () => string;
  readonly alive: () => boolean;
  stop(): Promise<void>;
}

/** Starts the kv server on a free port and waits until it is ready. */
export async function serveKv(kernel: KvKernel = 'os', threads = 2): Promise<ServedKv> {
  const logs: string[] = [];
  const vm = await VM.create({ kernel, syscallThreads: threads, log: (m) => logs.push(m) });
  let err = '';
  let running = true;
  const guest = await vm.spawn(KV, { args: ['-p', '0'], stdout: () => {}, stderr: (d) => (err += Buffer.from(d).toString()) });
  guest.exited.then(() => (running = false), () => (running = false));
  let address: string;
  try {
    address = await Promise.race([guest.ready, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no ready within 10 s')), 10_000))]);
  } catch (e) {
    await vm.close();
    throw new Error(`kv did not start: ${(e as Error).message}\n${err}\n${logs.join('\n')}`);
  }
  return {
    port: Number(address.split(':')[1]),
    stderr: () => err + logs.map((l) => `flexvm: ${l}\n`).join(''),
    alive: () => running,
    stop: async () => {
      guest.kill();
      await guest.exited.catch(() => {});
      await vm.close();
    },
  };
}

// ------------------------------------------------------------------------------- binary protocol

const OP_GET = 0x00;
const OP_SET = 0x01;
const OP_DELETE = 0x04;

/** A binary request packet (memcached's binary protocol: a 24-byte header, extras, key, value). */
export function binaryPacket(opcode: number, key: Buffer, extras: Buffer = Buffer.alloc(0), value: Buffer = Buffer.alloc(0), opaque = 0): Buffer {
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(opaque >>> 0, 12);
  return Buffer.concat([h, extras, key, value]);
}

function setExtras(flags = 0, exptime = 0): Buffer {
  const e = Buffer.alloc(8);
  e.writeUInt32BE(flags >>> 0, 0);
  e.writeUInt32BE(exptime >>> 0, 4);
  return e;
}

/** Length of the first whole binary response in `b`, or -1. */
function binaryResponseLength(b: Buffer): number {
  if (b.length < 24) return -1;
  const len = 24 + b.readUInt32BE(8);
  return b.length >= len ? len : -1;
}

// ------------------------------------------------------------------------------------ the corpus

const text = (s: string): Buffer => Buffer.from(s, 'latin1');

const VALID: readonly Buffer[] = [
  text('set a 0 0 5\r\nhello\r\n'),
  text('get a b c\r\n'),
  text('gets a\r\n'),
  text('add n 1 0 1\r\nx\r\n'),
  text('replace a 2 0 3\r\nabc\r\n'),
  text('append a 0 0 2\r\n!!\r\n'),
  text('prepend a 0 0 2\r\n<<\r\n'),
  text('set num 0 0 2\r\n10\r\nincr num 5\r\ndecr num 1\r\n'),
  text('delete a\r\n'),
  text('delete a 0\r\n'),
  text('touch a 10\r\n'),
  text('gat 0 a b\r\n'),
  text('cas a 0 0 1 1\r\nz\r\n'),
  text('stats\r\nstats settings\r\nstats items\r\nstats slabs\r\n'),
  text('version\r\nverbosity 1\r\n'),
  text('mg a v k t c f s\r\n'),
  text('ms m 3 T0 F5\r\nabc\r\n'),
  text('md m q\r\nmn\r\n'),
  text('ma num N0 J13 D2\r\n'),
  text('me a\r\n'),
  text('mg YWJj b v k\r\n'),
  text('set q 0 0 1 noreply\r\nq\r\nget q\r\n'),
  binaryPacket(OP_SET, text('bin'), setExtras(7), text('value')),
  binaryPacket(OP_GET, text('bin')),
  Buffer.concat([binaryPacket(OP_SET, text('b2'), setExtras(), text('x')), binaryPacket(OP_DELETE, text('b2')), binaryPacket(0x0a, Buffer.alloc(0))]),
];

/** Inputs known to hurt parsers of this protocol family. */
export const KV_HOSTILE: readonly Buffer[] = [
  text('set a 0 0 -1\r\nx\r\n'),
  text('set a 0 0 4294967296\r\nx\r\n'),
  text('set a 0 0 99999999999999999999\r\n'),
  text('set a 4294967296 0 1\r\nx\r\n'),
  text('set a 0 -99999999999 1\r\nx\r\n'),
  text('set a 0 0 1\r\nxxxxxxxxxxxxx\r\n'),
  text('set a 0 0 10\r\nshort'),
  text(`set ${'k'.repeat(251)} 0 0 1\r\nx\r\n`),
  text(`get ${'k'.repeat(300)}\r\n`),
  text(`get ${'a '.repeat(5000)}\r\n`),
  text('x'.repeat(5000)),
  text('incr a 18446744073709551616\r\n'),
  text('set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\ndecr n 99999999999999999999\r\n'),
  text('ms a 999999999999\r\n'),
  text('ms a S5 T-1\r\nabcde\r\n'),
  text(`mg a ${'O'.repeat(100)}\r\n`),
  text('mg a v v v v\r\n'),
  text('mg !!!notbase64 b v\r\n'),
  text('ma a MI N-5\r\n'),
  text('shutdown\r\n'),
  text('cache_memlimit 1\r\n'),
  text('verbosity\r\n'),
  text('gat -1 a\r\n'),
  text('touch a\r\n'),
  text('\0\0\0\0\r\n'),
  text('\r\n\r\n\r\n'),
  text('get a\nget b\n'),
  text('quit\r\nget a\r\n'),
  text('stats detail on\r\nstats cachedump 1 1\r\n'),
  (() => {
    const p = binaryPacket(OP_SET, text('k'), setExtras(), text('v'));
    p.writeUInt32BE(0xffffffff, 8); // a body length that lies
    return p;
  })(),
  (() => {
    const p = binaryPacket(OP_GET, text('key'));
    p.writeUInt16BE(0xffff, 2); // a key longer than the body
    return p;
  })(),
  (() => {
    const p = binaryPacket(OP_SET, text('key'), setExtras(), text('v'));
    p[4] = 200; // extras longer than the body
    return p;
  })(),
  binaryPacket(OP_SET, text('k'.repeat(300)), setExtras(), text('v')),
  binaryPacket(0xee, text('k')),
  binaryPacket(OP_GET, text('k')).subarray(0, 13),
  Buffer.concat([Buffer.from([0x80]), Buffer.alloc(4096, 0xff)]),
  Buffer.concat(Array.from({ length: 300 }, () => binaryPacket(0x09, text('miss')))), // GETQ: quiet misses, no answer at all
];

function mutate(rnd: () => number, input: Buffer): Buffer {
  const b = mutateBytes(rnd, input, [' ', '\r\n', '\n', '\0', '-1', '99999999999', 'noreply', ' b', '\x80']);
  // flush_all stays out (see the header): a mutation that spells it is spelled otherwise.
  return Buffer.from(b.toString('latin1').replace(/flush_all/g, 'flush_al_'), 'latin1');
}

// ------------------------------------------------------------------------ a connection that waits

/** One client connection: sends a request and waits until `whole` finds a complete answer. */
class KvConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed = false;
  private constructor(private readonly s: net.Socket) {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    s.on('error', () => {});
  }

  static open(port: number): Promise<KvConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new KvConn(s)));
      s.once('error', reject);
    });
  }

  /** Sends `req`; resolves with the answer (`whole` says how many bytes make it, -1: not yet), or null on a close or timeout. */
  async request(req: Buffer, whole: (b: Buffer) => number, timeoutMs = 10_000): Promise<Buffer | null> {
    this.s.write(req);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const n = whole(this.buf);
      if (n >= 0) {
        const answer = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return answer;
      }
      if (this.closed || Date.now() > until) return null;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(1, until - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = null;
    }
  }

  close(): void {
    this.s.destroy();
  }
}

/** A text answer that ends with the first line that is one of `ends` (each a whole line, CRLF included). */
const lineEnd = (...ends: string[]) => (b: Buffer): number => {
  const s = b.toString('latin1');
  let best = -1;
  for (const e of ends) {
    const j = s.startsWith(e) ? 0 : s.indexOf(`\r\n${e}`);
    if (j < 0) continue;
    const end = (j === 0 && s.startsWith(e) ? 0 : j + 2) + e.length;
    if (best < 0 || end < best) best = end;
  }
  return best;
};
/** The first line of a text answer, whatever it says. */
const oneLine = (b: Buffer): number => {
  const i = b.indexOf('\r\n');
  return i < 0 ? -1 : i + 2;
};

// -------------------------------------------------------------------------------------- fuzzing

export type KvFuzzReport = ProtocolFuzzReport;

export async function fuzzKv(options: { seconds: number; seed: number; concurrency?: number; threads?: number; kernel?: KvKernel }): Promise<KvFuzzReport> {
  const rnd = prng(options.seed);
  const srv = await serveKv(options.kernel ?? 'os', options.threads ?? 2);
  const report = newFuzzReport();
  let n = 0;
  /** Stores a fresh value under a fresh key and reads it back, on a fresh connection; null when exact. */
  const reference = async (): Promise<string | null> => {
    const key = `ref-${options.seed}-${n++}`;
    const value = 'v'.repeat(1 + Math.floor(rnd() * 200)) + n;
    const c = await KvConn.open(srv.port).catch(() => null);
    if (!c) return 'cannot connect';
    try {
      const want = `STORED\r\nVALUE ${key} 0 ${value.length}\r\n${value}\r\nEND\r\n`;
      const got = await c.request(text(`set ${key} 0 0 ${value.length}\r\n${value}\r\nget ${key}\r\n`), lineEnd('END\r\n'), 5000);
      if (got === null) return 'no answer';
      if (got.toString('latin1') !== want) return `answered ${JSON.stringify(got.toString('latin1').slice(0, 200))}`;
      return null;
    } finally {
      c.close();
    }
  };
  try {
    await attackWhileChecking({
      report, rnd, port: srv.port, until: Date.now() + options.seconds * 1000, concurrency: options.concurrency ?? 8,
      hostile: KV_HOSTILE, valid: VALID, mutate, answerMs: 1000, reference, intervalMs: 20, label: 'reference set/get',
    });
    report.serverAlive = srv.alive();
  } finally {
    await srv.stop();
  }
  return report;
}

// ------------------------------------------------------------------------------------------ soak

export interface KvSoakReport extends ResourceReport {
  operations: number;
  /** Writes the server acknowledged (STORED, HD, DELETED, a binary status 0, a new number). */
  acknowledged: number;
  /** Keys read back at the end, and those that did not hold their last acknowledged value. */
  readBack: number;
  lost: number;
  errors: number;
  readonly failures: string[];
  serverAlive: boolean;
}

const KEYS_PER_CLIENT = 64;

/** Reads `key` through the text protocol: its value, or null when it is absent; undefined on a bad answer. */
async function textGet(c: KvConn, key: string): Promise<string | null | undefined> {
  const got = await c.request(text(`get ${key}\r\n`), lineEnd('END\r\n'));
  if (got === null) return undefined;
  const s = got.toString('latin1');
  if (s === 'END\r\n') return null;
  const m = /^VALUE (\S+) \d+ (\d+)\r\n/.exec(s);
  if (!m || m[1] !== key) return undefined;
  const start = m[0].length;
  const value = s.slice(start, start + Number(m[2]));
  return s.slice(start + value.length) === '\r\nEND\r\n' ? value : undefined;
}

export async function soakKv(options: { seconds: number; concurrency?: number; threads?: number; kernel?: KvKernel; seed?: number }): Promise<KvSoakReport> {
  const resources = await countResources();
  const srv = await serveKv(options.kernel ?? 'os', options.threads ?? 2);
  const report: KvSoakReport = Object.assign(resources.report, { operations: 0, acknowledged: 0, readBack: 0, lost: 0, errors: 0, failures: [], serverAlive: true });
  const fail = (m: string) => {
    report.errors++;
    if (report.failures.length < 20) report.failures.push(m);
  };
  const rnd = prng(options.seed ?? 11);
  const until = Date.now() + options.seconds * 1000;
  resources.sample(options.seconds, () => report.operations);
  /** What each key holds, by what the server acknowledged (absent: deleted or never set). */
  const model = new Map<string, string>();
  try {
    const client = async (id: number) => {
      let c = await KvConn.open(srv.port);
      let version = 0;
      try {
        while (Date.now() < until) {
          const key = `c${id}-${Math.floor(rnd() * KEYS_PER_CLIENT)}`;
          const op = Math.floor(rnd() * 8);
          const value = `${key}:${++version}:${'y'.repeat(Math.floor(rnd() * 900))}`;
          report.operations++;
          let ok = true;
          if (op === 0) {
            const got = await c.request(text(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`), oneLine);
            ok = got?.toString() === 'STORED\r\n';
            if (ok) model.set(key, value);
            if (ok) report.acknowledged++;
          } else if (op === 1) {
            const got = await c.request(text(`ms ${key} ${value.length} T0\r\n${value}\r\n`), oneLine);
            ok = got?.toString() === 'HD\r\n';
            if (ok) model.set(key, value);
            if (ok) report.acknowledged++;
          } else if (op === 2) {
            // The binary protocol needs a connection of its own (a connection's first byte picks it).
            const b = await KvConn.open(srv.port);
            try {
              const got = await b.request(binaryPacket(OP_SET, text(key), setExtras(), text(value)), binaryResponseLength);
              ok = got !== null && got[0] === 0x81 && got.readUInt16BE(6) === 0;
              if (ok) model.set(key, value);
              if (ok) report.acknowledged++;
              if (ok) {
                const read = await b.request(binaryPacket(OP_GET, text(key)), binaryResponseLength);
                const extlen = read?.[4] ?? 0;
                ok = read !== null && read.readUInt16BE(6) === 0 && read.subarray(24 + extlen).toString('latin1') === value;
              }
            } finally {
              b.close();
            }
          } else if (op === 3) {
            const got = await c.request(text(`delete ${key}\r\n`), oneLine);
            const s = got?.toString();
            ok = s === (model.has(key) ? 'DELETED\r\n' : 'NOT_FOUND\r\n');
            if (s === 'DELETED\r\n' || s === 'NOT_FOUND\r\n') model.delete(key);
            if (s === 'DELETED\r\n') report.acknowledged++;
          } else if (op === 4) {
            // A counter: set to a number, then incremented; the model follows the server's answers.
            const start = Math.floor(rnd() * 1000);
            const got = await c.request(text(`set ${key} 0 0 ${String(start).length}\r\n${start}\r\nincr ${key} 7\r\n`), lineEnd(`${start + 7}\r\n`, 'NOT_FOUND\r\n'));
            ok = got?.toString() === `STORED\r\n${start + 7}\r\n`;
            if (ok) model.set(key, String(start + 7));
            if (ok) report.acknowledged += 2;
          } else if (op === 5) {
            const got = await c.request(text(`mg ${key} v\r\n`), (b) => {
              const s = b.toString('latin1');
              if (s.startsWith('EN\r\n')) return 4;
              const m = /^VA (\d+)[^\r]*\r\n/.exec(s);
              return m && s.length >= m[0].length + Number(m[1]) + 2 ? m[0].length + Number(m[1]) + 2 : -1;
            });
            const s = got?.toString('latin1');
            const want = model.get(key);
            ok = want === undefined ? s === 'EN\r\n' : s === `VA ${want.length}\r\n${want}\r\n`;
          } else {
            const got = await textGet(c, key);
            ok = got !== undefined && got === (model.get(key) ?? null);
          }
          if (!ok) {
            fail(`client ${id}: op ${op} on ${key} answered unexpectedly`);
            c.close();
            c = await KvConn.open(srv.port); // whatever was left half-read goes with the old connection
          }
        }
      } finally {
        c.close();
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 16 }, (_, i) => client(i)));
    // Every acknowledged write, read back.
    const c = await KvConn.open(srv.port);
    try {
      for (let id = 0; id < (options.concurrency ?? 16); id++) {
        for (let k = 0; k < KEYS_PER_CLIENT; k++) {
          const key = `c${id}-${k}`;
          const got = await textGet(c, key);
          report.readBack++;
          if (got !== (model.get(key) ?? null)) {
            report.lost++;
            fail(`read back ${key}: ${got === undefined ? 'a bad answer' : got === null ? 'missing' : 'another value'}`);
          }
        }
      }
    } finally {
      c.close();
    }
    report.serverAlive = srv.alive();
  } finally {
    await srv.stop();
  }
  await resources.after();
  return report;
}
