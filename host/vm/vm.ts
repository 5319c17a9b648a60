import { applyV8Flags } from './v8-flags.js';
import { MODE_EPOLL, MAX_THREADS } from '../abi/v1.js';
import { DEFAULT_LIMITS, type KernelModule, type KernelOptions, type Limits } from '../kernel/kernel.js';
import { loadKernelModule } from '../kernel/registry.js';
import type { ModuleInfo } from '../wasm/module-info.js';
import type { Executor, ExecutorContext } from '../syscall/executor.js';
import { GC_STDERR_QUEUED, GC_STDOUT_QUEUED, GUEST_COUNTERS_BYTES } from '../syscall/served-guest.js';
import { VmShared } from '../syscall/vm-shared.js';
import { WorkerExecutor } from '../syscall/worker-executor.js';
import { MODES, streamSink, type Guest, type GuestResult, type Mode, type SpawnOptions, type VMOptions } from './api.js';
import { parseGrant } from './grants.js';
import { wasiSpawn } from '../wasi/wasi-spawn.js';
import { loadGuest } from './guest-module.js';
import type { FromWorker, SpawnInfo } from './messages.js';
import { SupervisedGuest, type Placement } from './supervised-guest.js';
import { StdinFeeder } from './stdin-feeder.js';
import { endSpareGuestWorker, prestartGuestWorker } from './guest-worker-pool.js';
import { ON_THIS_THREAD, type ThisThreadGuest, type ThisThreadVM } from './this-thread.js';

applyV8Flags();

export type { Mode, VMOptions, SpawnOptions, GuestResult, Guest, StdioSink } from './api.js';
export { streamSink } from './api.js';
export { parseGrant } from './grants.js';

/**
 * A flexvm virtual machine: one kernel, N syscall threads (an executor), and any number of guests
 * that share them (and so can talk to each other through the kernel).
 */
export class VM {
  private readonly guests = new Map<number, SupervisedGuest>();
  private nextGid = 1;
  private nextPid = 100;
  private closed = false;
  private closing: Promise<void> | null = null;
  private executor!: Executor;

  private constructor(
    readonly kernel: KernelOptions,
    readonly threads: number,
    readonly mode: Mode,
    private readonly shared: VmShared,
    private readonly kernelModule: KernelModule,
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
    // The first guest's worker starts now, beside the syscall threads (start-up time: guest-worker-pool.ts),
    // unless the command line will run that guest on this thread (this-thread.ts).
    const onThisThread = (options as { [ON_THIS_THREAD]?: ThisThreadVM })[ON_THIS_THREAD] === true;
    if (!onThisThread) prestartGuestWorker(kernel.kind === 'native' ? 'native' : null);
    const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
    const vm = new VM(kernel, threads, mode, VmShared.create(threads), module, {
      spinUs: options.spinUs ?? 100,
      syncSpinUs: options.syncSpinUs ?? 20,
      log: options.log ?? ((m) => process.stderr.write(`flexvm: ${m}\n`)),
      limits,
      ...(options.trace ? { trace: options.trace } : {}),
    });
    const context: ExecutorContext = {
      kernel,
      threads,
      spinUs: vm.options.spinUs,
      limits,
      shared: vm.shared,
      trace: options.trace !== undefined,
      report: (m) => vm.onMessage(m),
    };
    vm.executor = module.createExecutor ? module.createExecutor(context) : new WorkerExecutor(context);
    await vm.executor.start();
    return vm;
  }

  /** Loads, checks and starts a guest. Rejects for a missing or invalid module. */
  async spawn(wasm: string | Uint8Array | ModuleInfo, options: SpawnOptions = {}): Promise<Guest> {
    if (this.closed) throw new Error('the VM is closed');
    const label = typeof wasm === 'string' ? wasm : options.name ?? 'guest';
    const loaded = await loadGuest(wasm, label, this.options.limits.maxMemory);
    const mode = MODES[options.mode ?? this.mode];
    if (mode === undefined) throw new RangeError(`unknown mode ${JSON.stringify(options.mode)}`);
    const wasi = loaded.info.wasi ? wasiSpawn(loaded.info.wasi, options, mode, label) : null;
    const perThread = this.kernelModule.placement === 'per-thread';
    const runner = this.executor.guestRunner ?? null;
    // On this thread only where no JavaScript kernel needs its event loop: native threads serve the
    // calls, and the guest never returns to the host to wait (not the epoll mode).
    const here = (options as { [ON_THIS_THREAD]?: ThisThreadGuest })[ON_THIS_THREAD];
    const onThisThread = here !== undefined && runner?.name === 'native' && mode !== MODE_EPOLL;
    const placement: Placement = onThisThread ? 'this-thread' : mode !== MODE_EPOLL || runner ? 'worker' : perThread ? 'worker-with-kernel' : 'home-thread';
    if (placement === 'home-thread' && !this.executor.spawnColocated) {
      throw new RangeError(`the ${this.kernel.kind} kernel cannot run epoll-mode guests beside it`);
    }
    const gid = this.nextGid++;
    const pid = this.nextPid++;
    const name = options.name ?? label.split('/').pop()!.replace(/\.wasm$/, '');
    // A guest on this thread reads the host's descriptor 0 itself (ThisThreadGuest.stdio).
    const given = onThisThread ? undefined : options.stdin;
    const feeder = isStream(given) ? new StdinFeeder(given) : null;
    const stdin = typeof given === 'string' ? new TextEncoder().encode(given) : isStream(given) ? null : given ?? null;
    const info: SpawnInfo = {
      runner,
      kernelOptions: this.kernel,
      gid,
      pid,
      name,
      module: loaded.info.module,
      memory: loaded.memory,
      memoryImport: loaded.memoryImport,
      args: [name, ...(options.args ?? [])],
      env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      mode,
      threads: this.threads,
      syncSpinUs: this.options.syncSpinUs,
      grants: (options.dirs ?? []).map(parseGrant),
      stdin,
      stdinRing: feeder ? feeder.ring.buffer : null,
      limits: this.options.limits,
      shared: this.kernelModule.processSharedBytes ? new SharedArrayBuffer(this.kernelModule.processSharedBytes) : null,
      counters: new SharedArrayBuffer(GUEST_COUNTERS_BYTES),
      kernel: placement === 'worker-with-kernel' ? this.kernel : null,
      trace: this.options.trace !== undefined,
      wasi,
      component: loaded.info.component ?? null,
    };
    Atomics.add(this.shared.i32, this.shared.startingWord, 1);
    const guest = new SupervisedGuest(
      info,
      placement,
      // process.stdout and stderr made only if a guest writes (on the CLI's main thread, its own
      // descriptors take its output: Node makes a stream for a terminal with node:tty and node:net).
      options.stdout ?? ((d) => streamSink(process.stdout)(d)),
      options.stderr ?? ((d) => streamSink(process.stderr)(d)),
      this.executor,
      this.shared,
      (m) => this.onMessage(m),
      (g) => this.guests.delete(g.gid),
      feeder,
    );
    this.guests.set(gid, guest);
    // It runs once the caller has its Guest (and awaits `exited`): this thread is then the guest's.
    if (onThisThread) setImmediate(() => guest.runHere(here!));
    return { pid, name, exited: guest.result, ready: guest.ready, kill: (graceMs = 2000) => guest.kill(graceMs) };
  }

  /** Spawns a guest and waits for it to exit. */
  async run(wasm: string | Uint8Array | ModuleInfo, options: SpawnOptions = {}): Promise<GuestResult> {
    const guest = await this.spawn(wasm, options);
    return guest.exited;
  }

  /** What guest threads and the executor report. */
  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'registered': {
        const p = this.guests.get(m.gid);
        if (!p) return;
        p.registeredWith(m.layout, m.threads);
        p.message = undefined; // an earlier refused attempt no longer explains how the guest ends
        Atomics.sub(this.shared.i32, this.shared.startingWord, 1);
        if (!m.colocated) {
          const i = p.info;
          this.executor.attach({
            gid: i.gid,
            pid: i.pid,
            name: i.name,
            memory: i.memory,
            layout: m.layout,
            threads: m.threads,
            grants: i.grants,
            stdin: i.stdin,
            stdinRing: i.stdinRing,
            limits: i.limits,
            shared: i.shared,
            counters: i.counters,
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
      case 'guest-ready': {
        this.guests.get(m.gid)?.announced(m.detail);
        return;
      }
      case 'exit': {
        const p = this.guests.get(m.gid);
        if (p) p.ended(m.status, m.message ?? p.message, m.importCalls, m.counts ?? null, m.probes);
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

  /** Stops every guest and the syscall threads. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const running = [...this.guests.values()];
    for (const p of running) p.kill(1000);
    await Promise.race([Promise.all(running.map((p) => p.result)), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.closed = true;
    endSpareGuestWorker();
    await this.executor.close();
  }
}

/** SpawnOptions.stdin given as a stream rather than bytes. */
function isStream(stdin: SpawnOptions['stdin']): stdin is NodeJS.ReadableStream {
  return typeof stdin === 'object' && stdin !== null && !(stdin instanceof Uint8Array) && typeof (stdin as NodeJS.ReadableStream).on === 'function';
}

/** Creates a VM (shorthand for VM.create). */
export function createVM(options: VMOptions = {}): Promise<VM> {
  return VM.create(options);
}
