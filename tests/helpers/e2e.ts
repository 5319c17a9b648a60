/**
 * Shared pieces of the end-to-end tests: where the guests are, VMs reused across tests (one per
 * syscall-thread count; the mode is chosen per guest), running a guest with its output captured and
 * a watchdog, and reading the `ok NAME` / `not ok NAME DETAIL` reports the test guests print.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { INTERNAL_ERROR_PREFIX } from '../../host/errors.js';
import { VM, type Guest, type GuestResult, type Mode, type VMOptions } from '../../host/vm/vm.js';
import { inspectModule, type ModuleInfo } from '../../host/wasm/module-info.js';

/** The repository root (tests are compiled to build/tests/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const MODES: readonly Mode[] = ['exceptionless', 'sync', 'epoll'];
export const THREADS: readonly number[] = [1, 2, 4];

/** Every mode with every syscall-thread count. */
export const CONFIGS: readonly { readonly mode: Mode; readonly threads: number }[] = THREADS.flatMap((threads) => MODES.map((mode) => ({ mode, threads })));

/** Absolute path of a built guest: `guest('tests/guests/syscalls')`. */
export function guestPath(rel: string): string {
  const path = `${ROOT}${rel}.wasm`;
  if (!existsSync(path)) throw new Error(`${path} is missing: build the guests first (node scripts/build-guests.mjs)`);
  return path;
}

const modules = new Map<string, Promise<ModuleInfo>>();

/** A guest module compiled once per test process (spawning it again skips compilation). */
export function guestModule(rel: string): Promise<ModuleInfo> {
  let m = modules.get(rel);
  if (!m) {
    const path = guestPath(rel);
    m = readFile(path).then((bytes) => inspectModule(bytes, path));
    modules.set(rel, m);
  }
  return m;
}

/** The log of each VM a VmPool made, so that a run can look for internal errors it caused. */
const vmLogs = new WeakMap<VM, string[]>();

/** VMs shared by the tests of one file: one per syscall-thread count, created on first use. */
export class VmPool {
  private readonly vms = new Map<number, Promise<VM>>();
  readonly logs: string[] = [];

  constructor(private readonly options: VMOptions = {}) {
    // The real-kernel tests (written for os) run on the native kernel too: npm run test:native.
    if (options.kernel === 'os' && process.env.FLEXVM_TEST_REAL_KERNEL === 'native') this.options = { ...options, kernel: { kind: 'native' } };
  }

  get(threads: number): Promise<VM> {
    let vm = this.vms.get(threads);
    if (!vm) {
      vm = VM.create({ log: (m) => this.logs.push(m), ...this.options, syscallThreads: threads });
      void vm.then((v) => vmLogs.set(v, this.logs), () => {});
      this.vms.set(threads, vm);
    }
    return vm;
  }

  async close(): Promise<void> {
    const all = [...this.vms.values()];
    this.vms.clear();
    await Promise.all(all.map(async (p) => (await p).close()));
  }
}

/** A finished guest with everything it wrote. */
export interface Outcome {
  readonly result: GuestResult;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly mode?: Mode;
  readonly args?: readonly string[];
  readonly stdin?: string | Uint8Array;
  readonly name?: string;
  /** Host directories the guest sees (`HOST[:GUEST]`). */
  readonly dirs?: readonly string[];
  /** Kill the guest (and fail the test) after this long; default 20 s. */
  readonly timeoutMs?: number;
}

/** A started guest whose output is being captured. */
export interface Running {
  readonly guest: Guest;
  readonly done: Promise<Outcome>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
}

const decoder = (): ((d: Uint8Array) => string) => {
  const td = new TextDecoder();
  return (d) => td.decode(d, { stream: true });
};

/** Spawns a guest, capturing its standard output and error; the watchdog kills a guest that hangs. */
export async function start(vm: VM, rel: string, opts: RunOptions = {}): Promise<Running> {
  let out = '';
  let err = '';
  const logs = vmLogs.get(vm);
  const logsFrom = logs?.length ?? 0;
  const dOut = decoder();
  const dErr = decoder();
  const guest = await vm.spawn(await guestModule(rel), {
    name: opts.name ?? rel.split('/').pop()!,
    args: opts.args ?? [],
    ...(opts.mode ? { mode: opts.mode } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.dirs ? { dirs: opts.dirs } : {}),
    stdout: (d) => (out += dOut(d)),
    stderr: (d) => (err += dErr(d)),
  });
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    guest.kill(500);
  }, timeoutMs);
  const done = guest.exited.then((result) => {
    clearTimeout(timer);
    if (timedOut) {
      throw new Error(`${rel} (${opts.mode ?? vm.mode}, ${vm.threads} threads) did not finish within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`);
    }
    // A kernel exception becomes -EIO and a log line, which a guest tolerating -EIO would hide.
    const internal = (logs?.slice(logsFrom) ?? []).filter((l) => l.includes(INTERNAL_ERROR_PREFIX));
    if (internal.length) throw new Error(`${rel}: the host logged internal errors during the run:\n${internal.join('\n')}`);
    // Every guest of every end-to-end test: a call completes only after it was submitted.
    for (const [name, c] of Object.entries(result.stats.bySyscall)) {
      if (c.completed > c.submitted) throw new Error(`${rel}: ${name} counted ${c.completed} completed but ${c.submitted} submitted`);
    }
    return { result, status: result.status, stdout: out, stderr: err };
  });
  return { guest, done, stdout: () => out, stderr: () => err };
}

/** Runs a guest to its end. */
export async function run(vm: VM, rel: string, opts: RunOptions = {}): Promise<Outcome> {
  return (await start(vm, rel, opts)).done;
}

/** Polls `cond` every 5 ms; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Report {
  readonly passed: string[];
  readonly failed: string[];
  /** The `checks P passed F failed` line was printed (the guest reached its end). */
  readonly complete: boolean;
}

export function parseReport(stdout: string): Report {
  const passed: string[] = [];
  const failed: string[] = [];
  let complete = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('ok ')) passed.push(line.slice(3).trim());
    else if (line.startsWith('not ok ')) failed.push(line.slice(7).trim());
    else if (/^checks \d+ passed \d+ failed$/.test(line)) complete = true;
  }
  return { passed, failed, complete };
}

/**
 * Asserts that a test guest finished with status 0, reached its summary, failed no check, and passed
 * every check in `expected` (so a guest that silently skipped part of its work is caught).
 */
export function assertReport(o: Outcome, label: string, expected: readonly string[] = []): Report {
  const r = parseReport(o.stdout);
  const context = `${label}\nstatus ${o.status}${o.result.message ? ` (${o.result.message})` : ''}\nstdout:\n${o.stdout}\nstderr:\n${o.stderr}`;
  assert.equal(r.failed, [], `${label}: failed checks\n${context}`);
  assert.ok(r.complete, `${label}: no summary line\n${context}`);
  assert.is(o.status, 0, `${label}: exit status\n${context}`);
  const missing = expected.filter((name) => !r.passed.includes(name));
  assert.equal(missing, [], `${label}: checks that never ran\n${context}`);
  return r;
}

/** `label` for messages: `syscalls [sync, 2 threads]`. */
export function label(what: string, mode: Mode, threads: number): string {
  return `${what} [${mode}, ${threads} thread${threads === 1 ? '' : 's'}]`;
}
