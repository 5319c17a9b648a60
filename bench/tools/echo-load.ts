// Closed-loop echo load generator, run as its own process: --conns connections each send a --size
// message and wait for all of it to come back before sending the next. After --warmup seconds it
// counts round trips for --seconds seconds, then prints one JSON line and exits (bounded in time).
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    conns: { type: 'string', default: '1' },
    size: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
  },
});
const port = Number(values.port);
const conns = Number(values.conns);
const size = Number(values.size);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const message = Buffer.alloc(size, 0x61);

let measuring = false;
let count = 0;
let errors = 0;
const latencies: number[] = [];
const sockets: Socket[] = [];

function start(s: Socket): void {
  let got = 0;
  let sent = performance.now();
  s.setNoDelay(true);
  s.on('data', (d: Buffer) => {
    got += d.length;
    while (got >= size) {
      got -= size;
      if (measuring) {
        count++;
        if ((count & 63) === 0) latencies.push(performance.now() - sent);
      }
      sent = performance.now();
      s.write(message);
    }
  });
  s.on('error', () => errors++);
  s.write(message);
}

let opened = 0;
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`only ${opened} of ${conns} connections opened`)), 10_000);
  for (let i = 0; i < conns; i++) {
    const s = connect({ host: values.host, port }, () => {
      start(s);
      if (++opened === conns) {
        clearTimeout(timer);
        resolve();
      }
    });
    s.on('error', (e) => reject(e));
    sockets.push(s);
  }
}).catch((e: Error) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
  process.exit(1);
});

await new Promise((r) => setTimeout(r, warmup * 1000));
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  JSON.stringify({ conns, size, seconds: elapsed, requests: count, rps: count / elapsed, errors, p50ms: pct(0.5), p99ms: pct(0.99) }) + '\n',
);
for (const s of sockets) s.destroy();
process.exit(0);
