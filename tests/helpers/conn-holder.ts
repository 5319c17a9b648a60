/**
 * A child process that holds many idle client connections to an echo server, so that the
 * descriptors are split between two processes (each stays under its `ulimit -n`) and the test
 * process owns none. Run as `node conn-holder.js PORT N [BATCH]`.
 *
 * It connects in batches of BATCH; every connection of a batch sends one byte and waits for its
 * echo before the next batch starts, so every connection has been accepted and served by the guest
 * (and the server's accept queue never holds more than a batch). Then it prints one JSON line
 * `{"ready":N,"ms":T}` and waits for commands on standard input, one per line:
 *
 * - `ping`: every connection sends a byte and waits for the echo: `{"pinged":N,"ms":T}`;
 * - `close`: every connection ends its side and waits for the server to close its side and the
 *   socket to close: `{"closed":N,"ended":E,"ms":T}` (E: connections that saw the server's FIN),
 *   then the process exits.
 *
 * Any socket error is fatal: `{"error":"CODE","at":I}` and exit status 2.
 */
import * as net from 'node:net';

const [portArg, countArg, batchArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const batchSize = Number(batchArg ?? 500);
const sockets: net.Socket[] = [];
let ended = 0;

function report(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function fatal(code: string, at: number): never {
  report({ error: code, at });
  process.exit(2);
}

/** Sends one byte on each socket of [from, to) and resolves when every echo came back. */
function echoRound(from: number, to: number): Promise<void> {
  let left = to - from;
  if (left === 0) return Promise.resolve();
  return new Promise((resolve) => {
    for (let i = from; i < to; i++) {
      const s = sockets[i]!;
      s.once('data', (d: Buffer) => {
        if (d.length !== 1 || d[0] !== 0x78) fatal(`bad echo ${d.toString('hex')}`, i);
        if (--left === 0) resolve();
      });
      s.write('x');
    }
  });
}

function connectBatch(from: number, to: number): Promise<void> {
  let left = to - from;
  return new Promise((resolve) => {
    for (let i = from; i < to; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.setNoDelay(true);
      s.on('error', (e: NodeJS.ErrnoException) => fatal(e.code ?? e.message, i));
      s.on('end', () => ended++);
      s.once('connect', () => {
        if (--left === 0) resolve();
      });
      sockets.push(s);
    }
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  for (let from = 0; from < count; from += batchSize) {
    const to = Math.min(count, from + batchSize);
    await connectBatch(from, to);
    await echoRound(from, to);
  }
  report({ ready: sockets.length, ms: Date.now() - t0 });
  let input = '';
  process.stdin.on('data', (d: Buffer) => {
    input += d.toString();
    let nl: number;
    while ((nl = input.indexOf('\n')) >= 0) {
      const cmd = input.slice(0, nl).trim();
      input = input.slice(nl + 1);
      void command(cmd);
    }
  });
}

async function command(cmd: string): Promise<void> {
  const t0 = Date.now();
  if (cmd === 'ping') {
    await echoRound(0, sockets.length);
    report({ pinged: sockets.length, ms: Date.now() - t0 });
  } else if (cmd === 'close') {
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('close', () => resolve());
            s.end();
          }),
      ),
    );
    report({ closed: sockets.length, ended, ms: Date.now() - t0 });
    process.exit(0);
  }
}

void main();
