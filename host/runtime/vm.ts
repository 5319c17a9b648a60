import './v8-flags.js';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CW_COMPLETIONS, CW_SHUTDOWN, MODE_EPOLL, MODE_EXCEPTIONLESS, MODE_SYNC, MAX_THREADS } from '../abi/v1.js';
import { DEFAULT_LIMITS, PROCESS_SHARED_BYTES, type Grant, type KernelOptions, type Limits } from '../kernel/kernel.js';
import { inspectModule, InvalidModuleError, type ModuleInfo } from '../wasm/module-info.js';
import type { ControlLayout } from './control-block.js';
import { GUEST_COUNTERS_BYTES } from './guest-slot.js';
import { STATUS_INTERRUPTED } from './handoff.js';
import { loadKernelModule } from './kernels.js';
import type { FromWorker, SpawnInfo, SyscallWorkerData, ToGuestWorker, ToSyscallWorker } from './messages.js';
import { collectStats, type GuestStats } from './stats.js';
import { GC_DIAGNOSTICS, GC_DIAGNOSTICS_SUPPRESSED, GC_STDERR_QUEUED, GC_STDOUT_QUEUED } from './guest-slot.js';
import { VmShared } from './vm-shared.js';

export type Mode = 'exceptionless' | 'sync' | 'epoll';
const MODES: Record<Mode, number> = { exceptionless: MODE_EXCEPTIONLESS, sync: MODE_SYNC, epoll: MODE_EPOLL };

export interface VMOptions {
  /** `virtual` (default), `os`, or kernel options (`kind` may be an embedder's kernel module URL). */
  kernel?: 'virtual' | 'os' | KernelOptions;
  /** Syscall threads (default 1). */
  syscallThreads?: number;
  /** Default mode of the guests (default exceptionless). */
  mode?: Mode;
  /** Idle polling of a syscall thread before it sleeps, in µs (default 100). */
  spinUs?: number;
  /** How long a blocking hand-off spins before it sleeps, in µs (default 20). */
  syncSpinUs?: number;
  limits?: Partial<Limits>;
  /** Diagnostics from the runtime (default: standard error). */
  log?: (message: string) => void;
  /** Receives one line per completed system call, like strace (default: none). */
  trace?: (line: string) => void;
}

export interface SpawnOptions {
  /** argv[1..]; argv[0] is the guest's name. */
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Host directories to make visible: `HOST[:GUEST]` strings or grants. */
  dirs?: readonly (string | Grant)[];
  stdin?: string | Uint8Array;
  /**
   * Where the guest's standard output and error go (default: this process's, with its
   * back-pressure). A sink may return a promise: until it settles the bytes count as queued, and a
   * guest with STDIO_QUEUE_LIMIT bytes queued on a stream waits to write more, as on a full pipe.
   */
  stdout?: StdioSink;
  stderr?: StdioSink;
  mode?: Mode;
  name?: string;
}

export interface GuestResult {
  readonly pid: number;
  readonly name: string;
  /** Exit status: the guest's own, 130 if stopped by the host, 134 if it trapped. */
  readonly status: number;
  /** Why it ended, when it did not simply exit (a trap, a refused registration, a link error). */
  readonly message?: string;
  readonly stats: GuestStats;
}

/** A running guest. */
export interface Guest {
  readonly pid: number;
  readonly name: string;
  readonly exited: Promise<GuestResult>;
  /** Asks the guest to stop (its loop returns 130); after `graceMs` its thread is terminated. */
  kill(graceMs?: number): void;
}

/**
 * Parses `HOST[:GUEST][:ro|:rw]` (GUEST defaults to HOST's absolute path; a grant is read-write
 * unless it ends in `:ro`).
 */
export function parseGrant(spec: string | Grant): Grant {
  if (typeof spec !== 'string') return spec;
  let rest = spec;
  let readOnly = false;
  if (rest.endsWith(':ro') || rest.endsWith(':rw')) {
    readOnly = rest.endsWith(':ro');
    rest = rest.slice(0, -3);
  }
  const i = rest.indexOf(':');
  const host = i < 0 ? rest : rest.slice(0, i);
  const guest = i < 0 ? resolvePath(host) : rest.slice(i + 1);
  if (!host) throw new Error(`bad --dir ${JSON.stringify(spec)}: expected HOST[:GUEST][:ro]`);
  if (!guest.startsWith('/')) throw new Error(`bad --dir ${JSON.stringify(spec)}: the guest path must be absolute`);
  return { hostPath: resolvePath(host), guestPath: guest, ...(readOnly ? { readOnly } : {}) };
}

/** Takes a guest's output; a returned promise holds the bytes as queued until it settles. */
export type StdioSink = (data: Uint8Array) => unknown;

/** A sink into a Node stream that settles once the stream has flushed the bytes (its back-pressure). */
export function streamSink(stream: NodeJS.WritableStream): StdioSink {
  return (d) => new Promise<void>((resolve) => stream.write(d, () => resolve()));
}

interface Pending {
  readonly gid: number;
  readonly info: SpawnInfo;
  readonly worker: Worker | null;
  readonly stdout: StdioSink;
  readonly stderr: StdioSink;
  layout: ControlLayout | null;
  threads: number;
  registered: boolean;
  exited: boolean;
  message?: string;
  resolve(result: GuestResult): void;
  /** Settles when the result has been delivered (statistics collected, the guest forgotten). */
  readonly result: Promise<GuestResult>;
}

/**
 * A flexvm virtual machine: one kernel, N syscall threads, and any number of guests that share
 * them (and so can talk to each other through the kernel).
 */
export class VM {
  private readonly workers: Worker[] = [];
  private readonly guests = new Map<number, Pending>();
  private nextGid = 1;
  private nextPid = 100;
  private closed = false;
  private readonly detachWaiters = new Map<number, { left: number; counts: (Record<number, [number, number]> | null)[]; done: () => void }>();
  private closing: Promise<void> | null = null;

  private constructor(
    readonly kernel: KernelOptions,
    readonly threads: number,
    readonly mode: Mode,
    private readonly shared: VmShared,
    private readonly placement: 'home' | 'per-thread',
    private readonly options: Required<Pick<VMOptions, 'spinUs' | 'syncSpinUs' | 'log'>> & { limits: Limits; trace?: (line: string) => void },
  ) {}

  static async create(options: VMOptions = {}): Promise<VM> {
    const kernel: KernelOptions = typeof options.kernel === 'object' ? options.kernel : { kind: options.kernel ?? 'virtual' };
    const threads = options.syscallThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new RangeError(`syscall threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
    }
    const mode = options.mode ?? 'exceptionless';
    if (!(mode in MODES)) throw new RangeError(`unknown mode ${JSON.stringify(mode)} (exceptionless, sync or epoll)`);
    const module = await loadKernelModule(kernel);
    const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
    const vm = new VM(kernel, threads, mode, VmShared.create(threads), module.placement, {
      spinUs: options.spinUs ?? 100,
      syncSpinUs: options.syncSpinUs ?? 20,
      log: options.log ?? ((m) => process.stderr.write(`flexvm: ${m}\n`)),
      limits,
      ...(options.trace ? { trace: options.trace } : {}),
    });
    await vm.startThreads();
    return vm;
  }

  private async startThreads(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.threads; index++) {
      const data: SyscallWorkerData = {
        index,
        count: this.threads,
        kernel: this.kernel,
        shared: this.shared.buffer,
        spinUs: this.options.spinUs,
        limits: this.options.limits,
        trace: this.options.trace !== undefined,
      };
      const worker = new Worker(new URL('./syscall-worker.js', import.meta.url), { workerData: data, name: `flexvm-syscall-${index}` });
      this.workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromWorker): void => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'fatal') reject(new Error(`syscall thread ${index}: ${m.message}`));
            else this.onMessage(m);
          };
          worker.on('message', onMessage);
          worker.once('error', (err) => {
            reject(err);
            this.options.log(`syscall thread ${index} failed: ${err.stack ?? err.message}`);
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(this.workers.map((w) => w.terminate()));
      throw err;
    }
  }

  private send(index: number, m: ToSyscallWorker): void {
    this.workers[index]!.postMessage(m);
  }
  private broadcast(m: ToSyscallWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }

  /** Loads, checks and starts a guest. Rejects for a missing or invalid module. */
  async spawn(wasm: string | Uint8Array | ModuleInfo, options: SpawnOptions = {}): Promise<Guest> {
    if (this.closed) throw new Error('the VM is closed');
    const label = typeof wasm === 'string' ? wasm : options.name ?? 'guest';
    const info = await loadGuestModule(wasm, label);
    const mem = info.memory;
    if (!mem) {
      throw new InvalidModuleError(`${label} does not import a memory; flexvm guests import a shared memory (asc --importMemory --sharedMemory)`);
    }
    if (!mem.shared) throw new InvalidModuleError(`${label} imports a memory that is not shared (build with --sharedMemory --maximumMemory N)`);
    // The host, not the module, says how large a guest may grow (Limits.maxMemory).
    const capPages = Math.floor(this.options.limits.maxMemory / 65536);
    if (mem.initial > capPages) {
      throw new InvalidModuleError(`${label} needs ${mem.initial * 64} KiB of memory at start, more than the limit of ${capPages * 64} KiB (--max-memory)`);
    }
    const memory = new WebAssembly.Memory({ initial: mem.initial, maximum: Math.min(mem.maximum ?? mem.initial, capPages), shared: true });
    const mode = MODES[options.mode ?? this.mode];
    if (mode === undefined) throw new RangeError(`unknown mode ${JSON.stringify(options.mode)}`);
    const gid = this.nextGid++;
    const pid = this.nextPid++;
    const name = options.name ?? label.split('/').pop()!.replace(/\.wasm$/, '');
    const stdin = typeof options.stdin === 'string' ? new TextEncoder().encode(options.stdin) : options.stdin ?? null;
    const spawn: SpawnInfo = {
      gid,
      pid,
      name,
      module: info.module,
      memory,
      memoryImport: { module: mem.module, name: mem.name },
      args: [name, ...(options.args ?? [])],
      env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      mode,
      threads: this.threads,
      syncSpinUs: this.options.syncSpinUs,
      grants: (options.dirs ?? []).map(parseGrant),
      stdin,
      limits: this.options.limits,
      shared: new SharedArrayBuffer(PROCESS_SHARED_BYTES),
      counters: new SharedArrayBuffer(GUEST_COUNTERS_BYTES),
      // epoll mode: beside the home kernel on syscall thread 0, or with its own per-thread kernel.
      kernel: mode === MODE_EPOLL && this.placement === 'per-thread' ? this.kernel : null,
      trace: this.options.trace !== undefined,
    };
    const local = mode === MODE_EPOLL && this.placement === 'home';
    Atomics.add(this.shared.i32, this.shared.startingWord, 1);
    const worker = local ? null : new Worker(new URL('./guest-worker.js', import.meta.url), { workerData: spawn, name: `flexvm-guest-${pid}` });
    let resolveExit!: (r: GuestResult) => void;
    const exited = new Promise<GuestResult>((r) => (resolveExit = r));
    const pending: Pending = {
      gid,
      info: spawn,
      worker,
      stdout: options.stdout ?? streamSink(process.stdout),
      stderr: options.stderr ?? streamSink(process.stderr),
      layout: null,
      threads: this.threads,
      registered: false,
      exited: false,
      resolve: resolveExit,
      result: exited,
    };
    this.guests.set(gid, pending);
    if (worker) {
      worker.on('message', (m: FromWorker) => this.onMessage(m));
      worker.on('error', (err) => this.onGuestExit(pending, 134, `guest thread failed: ${err.message}`, 0));
      worker.on('exit', () => {
        if (!pending.exited) this.onGuestExit(pending, pending.message ? 137 : 134, pending.message ?? 'guest thread ended without reporting', 0);
      });
    } else {
      this.send(0, { type: 'spawn', guest: spawn });
    }
    return {
      pid,
      name,
      exited,
      kill: (graceMs = 2000) => this.kill(pending, graceMs),
    };
  }

  /** Spawns a guest and waits for it to exit. */
  async run(wasm: string | Uint8Array | ModuleInfo, options: SpawnOptions = {}): Promise<GuestResult> {
    const guest = await this.spawn(wasm, options);
    return guest.exited;
  }

  private kill(p: Pending, graceMs: number): void {
    if (p.exited) return;
    if (!p.worker) {
      this.send(0, { type: 'kill', gid: p.gid, reason: 1 });
    } else if (p.info.kernel) {
      // epoll mode with its own kernel: it may wait in its thread's event loop.
      p.worker.postMessage({ type: 'kill', reason: 1 } satisfies ToGuestWorker);
    } else {
      // The guest library checks the shutdown word in its loop and waits; wake it to see it.
      const i32 = new Int32Array(p.info.memory.buffer);
      if (p.layout) {
        const ctrlW = p.layout.ctrl >> 2;
        Atomics.store(i32, ctrlW + CW_SHUTDOWN, 1);
        Atomics.add(i32, ctrlW + CW_COMPLETIONS, 1);
        Atomics.notify(i32, ctrlW + CW_COMPLETIONS);
      }
    }
    const timer = setTimeout(() => {
      if (p.exited) return;
      p.message = 'stopped by the host (did not exit in time)';
      if (p.worker) void p.worker.terminate();
      else this.onGuestExit(p, STATUS_INTERRUPTED, p.message, 0);
    }, graceMs);
    timer.unref();
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'registered': {
        const p = this.guests.get(m.gid);
        if (!p) return;
        p.layout = m.layout;
        p.threads = m.threads;
        p.registered = true;
        p.message = undefined; // an earlier refused attempt no longer explains how the guest ends
        Atomics.sub(this.shared.i32, this.shared.startingWord, 1);
        if (!m.local) {
          this.broadcast({
            type: 'attach',
            guest: {
              gid: p.gid,
              pid: p.info.pid,
              name: p.info.name,
              memory: p.info.memory,
              layout: m.layout,
              threads: m.threads,
              grants: p.info.grants,
              stdin: p.info.stdin,
              limits: p.info.limits,
              shared: p.info.shared,
              counters: p.info.counters,
            },
          });
        }
        return;
      }
      case 'refused': {
        const p = this.guests.get(m.gid);
        if (p) p.message = `registration refused: ${m.message}`;
        return;
      }
      case 'stdio': {
        const p = this.guests.get(m.gid);
        if (!p) return;
        // The bytes stay counted as queued until the sink has them (the guest's back-pressure).
        const counters = new Int32Array(p.info.counters);
        const word = m.fd === 1 ? GC_STDOUT_QUEUED : GC_STDERR_QUEUED;
        const taken = (): void => {
          Atomics.sub(counters, word, m.data.length);
          Atomics.notify(counters, word);
        };
        let r: unknown;
        try {
          r = (m.fd === 1 ? p.stdout : p.stderr)(m.data);
        } catch (e) {
          taken();
          this.options.log(`${p.info.name}: standard ${m.fd === 1 ? 'output' : 'error'} sink failed: ${(e as Error).message}`);
          return;
        }
        if (r instanceof Promise) r.then(taken, taken);
        else taken();
        return;
      }
      case 'exit': {
        const p = this.guests.get(m.gid);
        if (p) this.onGuestExit(p, m.status, m.message ?? p.message, m.importCalls, m.counts ?? null);
        return;
      }
      case 'detached': {
        const w = this.detachWaiters.get(m.gid);
        if (!w) return;
        w.counts.push(m.counts);
        if (--w.left === 0) w.done();
        return;
      }
      case 'log':
        this.options.log(m.message);
        return;
      case 'trace':
        this.options.trace?.(m.line);
        return;
      default:
        return;
    }
  }

  private onGuestExit(
    p: Pending,
    status: number,
    message: string | undefined,
    importCalls: number,
    ownCounts: Record<number, [number, number]> | null = null,
  ): void {
    if (p.exited) return;
    p.exited = true;
    if (!p.registered) Atomics.sub(this.shared.i32, this.shared.startingWord, 1);
    const finish = (counts: (Record<number, [number, number]> | null)[]): void => {
      this.guests.delete(p.gid);
      if (p.worker) void p.worker.terminate();
      const c = new Int32Array(p.info.counters);
      const diagnostics = { raised: Atomics.load(c, GC_DIAGNOSTICS), suppressed: Atomics.load(c, GC_DIAGNOSTICS_SUPPRESSED) };
      const stats = collectStats(p.info.memory, p.layout, p.threads, p.info.mode, counts, importCalls, diagnostics);
      p.resolve(message ? { pid: p.info.pid, name: p.info.name, status, message, stats } : { pid: p.info.pid, name: p.info.name, status, stats });
    };
    if (this.closed && !this.workers.length) {
      finish([]);
      return;
    }
    // Every syscall thread forgets the guest (closing its descriptors) and reports its counts.
    const counts: (Record<number, [number, number]> | null)[] = [ownCounts];
    this.detachWaiters.set(p.gid, {
      left: this.workers.length,
      counts,
      done: () => {
        this.detachWaiters.delete(p.gid);
        finish(counts);
      },
    });
    this.broadcast({ type: 'detach', gid: p.gid });
  }

  /** Stops every guest and the syscall threads. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const running = [...this.guests.values()];
    for (const p of running) this.kill(p, 1000);
    await Promise.race([Promise.all(running.map((p) => p.result)), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.closed = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => void w.terminate().then(() => resolve()), 1000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.postMessage({ type: 'close' } satisfies ToSyscallWorker);
          }),
      ),
    );
  }
}

async function loadGuestModule(wasm: string | Uint8Array | ModuleInfo, label: string): Promise<ModuleInfo> {
  if (typeof wasm === 'object' && 'module' in wasm) return wasm;
  let bytes: Uint8Array;
  if (typeof wasm === 'string') {
    try {
      bytes = await readFile(wasm);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InvalidModuleError(code === 'ENOENT' ? `${wasm}: no such file` : `${wasm}: cannot read (${code ?? (err as Error).message})`);
    }
  } else bytes = wasm;
  return inspectModule(bytes, label);
}

/** Creates a VM (shorthand for VM.create). */
export function createVM(options: VMOptions = {}): Promise<VM> {
  return VM.create(options);
}
