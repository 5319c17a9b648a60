// Closed-loop echo load generator, run as its own process: --conns connections each send a --size
// message and wait for all of it to come back before sending the next. After --warmup seconds it
// counts round trips for --seconds seconds, then prints one JSON line and exits (bounded in time).
// Every round trip's time goes into an HDR histogram (1 µs to 60 s, 3 significant digits), so the
// percentiles are of all of them, not of a sample. `cpuCores` is its own CPU time over the measured
// interval divided by the interval.
import { connect, type Socket } from 'node:net';
import { build } from 'hdr-histogram-js';
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
/** Round-trip times in microseconds. */
const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const sockets: Socket[] = [];

function start(s: Socket): void {
  let got = 0;
  let sent = performance.now();
  s.setNoDelay(true);
  s.on('data', (d: Buffer) => {
    got += d.length;
    while (got >= size) {
      got -= size;
      const now = performance.now();
      if (measuring) {
        count++;
        histogram.recordValue(Math.max(1, Math.round((now - sent) * 1000)));
      }
      sent = now;
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
const cpu0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
// The generator's own CPU over the measured interval, in cores (1.0: one core busy the whole time):
// one Node process, so near 1.0 it is the limit, not the server.
const cpu = process.cpuUsage(cpu0);
const cores = (cpu.user + cpu.system) / 1e6 / elapsed;
const pct = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
process.stdout.write(
  JSON.stringify({ conns, size, seconds: elapsed, requests: count, rps: count / elapsed, cpuCores: cores, errors, p50ms: pct(50), p99ms: pct(99), p999ms: pct(99.9) }) + '\n',
);
for (const s of sockets) s.destroy();
process.exit(0);
