/**
 * Pieces of the end-to-end tests of the `os` kernel (tests/e2e-os-*.test.ts): real clients over
 * loopback against guests serving real sockets and files. The flexvm command line as a child
 * process, real client programs (curl, nc, ab) with a bounded run time, server guests inside this
 * process that report the port they got, and a registry that makes sure nothing outlives a test.
 */
import { INTERNAL_ERROR_PREFIX } from '../../host/errors.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VM } from '../../host/vm/vm.js';
import { ROOT, start, waitFor, type RunOptions, type Running } from './e2e.js';

/** The command line as `npm test` builds it (dist/cli.js bundles the same code). */
export const CLI = join(ROOT, 'build/host/cli/main.js');

/** Whether a program is on the PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** The real clients .ci/run installs: curl, OpenBSD netcat, ApacheBench (apache2-utils). */
export type ClientProgram = 'curl' | 'nc' | 'ab';

/** Why the real client `program` cannot be used here, or null when it can. */
function unusable(program: ClientProgram): string | null {
  if (!hasProgram(program)) return `${program} is not installed`;
  if (program === 'nc') {
    // -N (shut down after EOF on stdin) is OpenBSD netcat's; the traditional and busybox ones lack it.
    const help = spawnSync('nc', ['-h'], { encoding: 'utf8', timeout: 5_000 });
    if (!/OpenBSD netcat/.test(`${help.stdout}${help.stderr}`)) return 'nc is not OpenBSD netcat (netcat-openbsd), which -N needs';
  }
  return null;
}

/**
 * `test` for tests that drive the real client `program` when it can be used. In CI (.ci/run installs
 * curl, netcat-openbsd and apache2-utils) a missing one makes each such test fail saying so; elsewhere they are
 * skipped with a note.
 */
export function clientTest(program: ClientProgram, file: string): (name: string, fn: () => Promise<void>) => void {
  const why = unusable(program);
  if (why === null) return test;
  if (process.env.CI) return (name) => test(name, () => assert.unreachable(`${why}: CI must provide it (.ci/run installs curl, netcat-openbsd and apache2-utils)`));
  console.log(`  (${why}: its tests in ${file} are skipped; CI installs it)`);
  return test.skip;
}

/** The port in a server's `NAME: listening on 127.0.0.1:PORT` line. */
export function portIn(text: string): number | null {
  const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Starts a server guest in `vm` and waits until it reports the port it listens on. */
export async function startServer(vm: VM, rel: string, opts: RunOptions): Promise<{ server: Running; port: number }> {
  const server = await start(vm, rel, opts);
  let ended: string | null = null;
  server.done.then(
    (o) => (ended = `exited with status ${o.status}${o.result.message ? ` (${o.result.message})` : ''}`),
    (e: unknown) => (ended = String(e)),
  );
  await waitFor(() => portIn(server.stderr()) !== null || ended !== null, 10_000).catch(() => {});
  const port = portIn(server.stderr());
  if (port === null) {
    server.guest.kill(200);
    throw new Error(`${rel} did not report its port: ${ended ?? 'timed out'}\nstderr:\n${server.stderr()}\nstdout:\n${server.stdout()}`);
  }
  return { server, port };
}

/** A finished child program. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const live = new Set<ChildProcess>();

/** Kills every child process still running (tests call it in `after.each`). */
export async function killChildren(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) {
      waits.push(new Promise((r) => c.once('exit', r)));
      c.kill('SIGKILL');
    }
  }
  live.clear();
  await Promise.all(waits);
}

function track(c: ChildProcess): ChildProcess {
  live.add(c);
  c.once('exit', () => live.delete(c));
  return c;
}

/** Runs a program to its end (killed after `timeoutMs`), with `input` on its standard input. */
export function runProgram(cmd: string, args: readonly string[], opts: { input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const c = track(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const out: Buffer[] = [];
    let err = '';
    c.stdout!.on('data', (d: Buffer) => out.push(d));
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.stdin!.on('error', () => {});
    const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
    c.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
    c.stdin!.end(opts.input ?? '');
  });
}

/**
 * A child process with its output captured: the flexvm command line, or a Node script. Its
 * descriptor limit can be raised (up to the hard limit) for programs that hold many connections.
 */
export class Child {
  readonly proc: ChildProcess;
  private out = '';
  private err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], opts: { fdLimit?: number; stdin?: boolean } = {}) {
    const node = process.execPath;
    // sh raises the soft limit first when it is below what the program needs, then becomes node.
    const script = opts.fdLimit ? `[ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt ${opts.fdLimit} ] && ulimit -n ${opts.fdLimit}; exec "$0" "$@"` : 'exec "$0" "$@"';
    this.proc = track(spawn('sh', ['-c', script, node, ...args], { cwd: ROOT, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] }));
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => this.proc.once('close', (code, signal) => resolve({ code, signal })));
    // A kernel exception becomes -EIO and a log line: a test that waits for the end fails on one.
    this.exited = closed.then((r) => {
      const internal = this.err.split('\n').filter((l) => l.includes(INTERNAL_ERROR_PREFIX));
      if (internal.length) throw new Error(`the host logged internal errors:\n${internal.join('\n')}`);
      return r;
    });
    this.exited.catch(() => {}); // rejects only for those who wait for it
  }

  /** `flexvm ARGS...` */
  static cli(args: readonly string[], opts: { fdLimit?: number } = {}): Child {
    return new Child([CLI, ...args], opts);
  }

  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until the output matches `re` (rejects if the process ends first or after `timeoutMs`). */
  async waitFor(re: RegExp, timeoutMs: number, stream: 'stdout' | 'stderr' = 'stderr'): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(stream === 'stdout' ? this.out : this.err);
      if (m) return m;
      if (!this.running) throw new Error(`the process ended (${this.proc.exitCode ?? this.proc.signalCode}) before printing ${re}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      if (Date.now() > until) throw new Error(`no ${re} within ${timeoutMs} ms\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends a line to its standard input. */
  send(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }

  /** Resident memory of the process in bytes (Linux /proc). */
  rss(): number {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
    if (!m) throw new Error('no VmRSS');
    return Number(m[1]) * 1024;
  }

  /** Sends SIGINT (Ctrl-C) and waits for the exit, killing it after `timeoutMs`. */
  async interrupt(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.kill('SIGINT');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

/** Rejects with `what` when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms))),
  ]);
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing run can be repeated exactly. */
export function patternBytes(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A deterministic generator of integers in [lo, hi]. */
export function randomInts(seed: number): (lo: number, hi: number) => number {
  let x = seed >>> 0 || 1;
  return (lo, hi) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return lo + ((x >>> 0) % (hi - lo + 1));
  };
}
