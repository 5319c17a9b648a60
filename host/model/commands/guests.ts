// flexvm's own server guests, run under a load and counted for `flexvm model table1`. Each entry says
// how to start the guest and how to load it; adding a guest (kv) is one more entry.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../cli/package-root.js';
import { VM } from '../../vm/vm.js';
import type { GuestResult } from '../../vm/api.js';
import { instrumentGuestFile } from './run-report.js';

export interface CountedServer {
  readonly server: string;
  readonly workload: string;
  readonly requests: number;
  readonly result: GuestResult;
}

interface ServerGuest {
  readonly server: string;
  readonly workload: string;
  run(requests: number): Promise<CountedServer>;
}

/** Runs an instrumented server, in epoll mode (the paper's baseline: every call is a mode switch). */
async function withServer(
  file: string,
  kernel: 'virtual' | 'os',
  args: readonly string[],
  dirs: readonly string[],
  load: (vm: VM, port: number) => Promise<void>,
): Promise<GuestResult> {
  const vm = await VM.create({ kernel, syscallThreads: 1, mode: 'epoll' });
  try {
    const counted = instrumentGuestFile(join(packageRoot(), file));
    let out = '';
    let onPort!: (port: number) => void;
    const port = new Promise<number>((r) => (onPort = r));
    const server = await vm.spawn(counted.bytes, {
      name: counted.name,
      args,
      dirs: dirs.map((d) => join(packageRoot(), d)),
      stdout: () => {},
      // The examples log "listening on HOST:PORT" on standard error.
      stderr: (d) => {
        out += new TextDecoder().decode(d);
        const m = /listening on [\d.]+:(\d+)/.exec(out);
        if (m) onPort(Number(m[1]));
      },
    });
    const timeout = setTimeout(() => onPort(-1), 10_000);
    const p = await port;
    clearTimeout(timeout);
    if (p < 0) throw new Error(`${file} did not say which port it listens on`);
    await load(vm, p);
    server.kill(2000);
    return await server.exited;
  } finally {
    await vm.close();
  }
}

/** `count` HTTP/1.1 GETs, one connection each (as ApacheBench without keep-alive), 8 at a time. */
async function httpLoad(port: number, path: string, count: number): Promise<void> {
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < count) {
      next++;
      await one();
    }
  }));
}

/**
 * `count` memcached text-protocol requests over 8 connections (as memslap does, mostly gets): each
 * connection stores its key once, then asks for it until the connection's share is done.
 */
async function memcachedLoad(port: number, count: number): Promise<void> {
  const conns = 8;
  await Promise.all(Array.from({ length: conns }, (_, c) => new Promise<void>((resolve, reject) => {
    const share = Math.floor(count / conns) + (c < count % conns ? 1 : 0);
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => sock.destroy(new Error('memcached load timed out')), 30_000);
    let buffered = '';
    let answered = -1; // the set's STORED comes first
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(`set key${c} 0 0 32\r\n${'v'.repeat(32)}\r\n`));
    sock.on('data', (d: string) => {
      buffered += d;
      for (;;) {
        const end = answered < 0 ? buffered.indexOf('STORED\r\n') : buffered.indexOf('END\r\n');
        if (end < 0) break;
        buffered = buffered.slice(end + (answered < 0 ? 8 : 5));
        answered++;
        if (answered < share) sock.write(`get key${c}\r\n`);
        else {
          clearTimeout(timer);
          sock.end();
          resolve();
          return;
        }
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  })));
}

export const SERVER_GUESTS: readonly ServerGuest[] = [
  {
    server: 'flexvm echo',
    workload: 'echo client, 64-byte messages',
    async run(requests) {
      const conns = 4;
      const messages = Math.max(1, Math.round(requests / conns));
      const result = await withServer('examples/echo/server.wasm', 'virtual', ['--port', '0'], [], async (vm, port) => {
        const client = await vm.run(join(packageRoot(), 'examples/echo/client.wasm'), {
          args: ['--port', String(port), '--conns', String(conns), '--messages', String(messages)],
          stdout: () => {},
        });
        if (client.status !== 0) throw new Error(`echo client failed: ${client.message ?? client.status}`);
      });
      return { server: this.server, workload: this.workload, requests: conns * messages, result };
    },
  },
  {
    server: 'flexvm httpd',
    workload: 'HTTP GET of index.html, a connection each',
    async run(requests) {
      const result = await withServer('examples/httpd/server.wasm', 'os', ['--root', '/www', '--port', '0'], ['examples/httpd/www:/www:ro'], (_vm, port) =>
        httpLoad(port, '/index.html', requests),
      );
      return { server: this.server, workload: this.workload, requests, result };
    },
  },
  {
    server: 'flexvm kv',
    workload: 'memcached protocol, 32-byte values, gets over 8 connections',
    async run(requests) {
      const result = await withServer('examples/kv/server.wasm', 'os', ['-p', '0', '-l', '127.0.0.1'], [], (_vm, port) => memcachedLoad(port, requests));
      return { server: this.server, workload: this.workload, requests, result };
    },
  },
];

/** The guests this checkout has built (kv comes from its own branch). */
export function availableServerGuests(): ServerGuest[] {
  const file: Record<string, string> = { 'flexvm echo': 'examples/echo/server.wasm', 'flexvm httpd': 'examples/httpd/server.wasm', 'flexvm kv': 'examples/kv/server.wasm' };
  return SERVER_GUESTS.filter((g) => existsSync(join(packageRoot(), file[g.server] ?? '')));
}
