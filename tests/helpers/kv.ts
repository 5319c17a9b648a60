/**
 * Pieces of the kv example's tests (tests/kv-*.test.ts, tests/e2e-os-kv.test.ts): the kernels they
 * run on, starting the server guest, and scripts for the raw-socket checker guest
 * (tests/guests/kv-check.ts), which plays the same bytes against the server on every kernel.
 */
import type { Mode, VM } from '../../host/vm/vm.js';
import { run, type Outcome, type Running } from './e2e.js';
import { startServer } from './os-e2e.js';

/** The kernels the kv tests run on; a new kernel is one more entry here. */
export const KV_KERNELS: readonly string[] = ['virtual', 'os'];

export const KV_SERVER = 'examples/kv/server';
export const KV_CHECK = 'tests/guests/kv-check';

/** In an expect block: one or more digits (cas uniques, times). */
export const D = '\x01';

/** A script for the checker guest: cases of bytes to send and bytes expected back. */
export class KvScript {
  private readonly parts: Buffer[] = [];
  readonly names: string[] = [];

  private add(line: string, body?: Buffer): this {
    this.parts.push(Buffer.from(line + '\n', 'latin1'));
    if (body) this.parts.push(body);
    return this;
  }

  /** A new case, on a fresh connection. */
  case(name: string): this {
    this.names.push(name);
    return this.add(`case ${name}`);
  }
  send(data: string | Buffer): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return this.add(`send ${b.length}`, b);
  }
  expect(data: string | Buffer): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return this.add(`expect ${b.length}`, b);
  }
  /** send, then expect */
  io(send: string | Buffer, expect: string | Buffer): this {
    return this.send(send).expect(expect);
  }
  closed(): this {
    return this.add('closed');
  }
  sleep(ms: number): this {
    return this.add(`sleep ${ms}`);
  }
  /** Another connection; the previous one stays open. */
  connect(): this {
    return this.add('connect');
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/** Starts the kv server guest (-p 0: the kernel picks the port) and returns it with its port. */
export async function startKv(vm: VM, mode: Mode, args: readonly string[] = []): Promise<{ server: Running; port: number }> {
  return startServer(vm, KV_SERVER, { mode, args: ['-p', '0', ...args], timeoutMs: 120_000 });
}

/** Plays `script` against the server on `port` with the checker guest in the same VM. */
export async function runScript(vm: VM, mode: Mode, port: number, script: KvScript, timeoutMs = 60_000): Promise<Outcome> {
  return run(vm, KV_CHECK, { mode, args: ['--port', String(port)], stdin: script.bytes(), timeoutMs });
}

