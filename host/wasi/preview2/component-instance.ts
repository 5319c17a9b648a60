import type { HandoffWaits } from '../../guest/handoff.js';
import { GuestInstance, type GuestOutcome } from '../../guest/guest-instance.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { EXIT_CANNOT_RUN, GuestExit } from '../../errors.js';
import { LinuxCalls } from '../preview1/linux.js';
import { SyscallPort } from '../syscall-port.js';
import type { WasiSpawn } from '../wasi-spawn.js';
import type { P2Context } from './context.js';
import { preview2Interfaces } from './interfaces.js';

/** A transpiled component ready to instantiate on a guest thread (compiled core modules). */
export interface RunnableComponent {
  /** Function body returning jco's synchronous `instantiate` (see component-code.ts). */
  readonly js: string;
  readonly modules: Readonly<Record<string, WebAssembly.Module>>;
  /** The interfaces it imports (jco's list): each must be one flexvm provides. */
  readonly imports: readonly string[];
}

/** Exit status when the host cannot register the port's pages or open a preopen (EX_OSERR). */
const STATUS_SETUP = 71;

type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, unknown>) => Record<string, unknown>;

/**
 * A WASI preview 2 component on a guest thread, in place of a GuestInstance. The component's core
 * modules keep their own memories; the host registers a small shared memory of its own (the port:
 * control block, syscall pages, scratch) exactly as a preview 1 program's host region, and serves
 * the `wasi:*` interfaces on it. Then the `wasi:cli/run` export runs.
 */
export class ComponentInstance {
  readonly memory: GuestMemory;
  importCalls = 0;

  constructor(
    private readonly component: RunnableComponent,
    memory: WebAssembly.Memory,
    private readonly spawn: WasiSpawn,
    private readonly args: readonly string[],
    private readonly env: readonly string[],
    private readonly register: (ctrl: number) => number,
    private readonly handOff: (entryPtr: number) => void,
    private readonly waits?: HandoffWaits,
  ) {
    this.memory = new GuestMemory(memory);
  }

  start(): GuestOutcome {
    try {
      this.run();
      return { kind: 'exit', status: 0 };
    } catch (err) {
      // `run` answered err (jco throws its ComponentError for an export's error result): exit 1.
      if ((err as Error)?.constructor?.name === 'ComponentError') return { kind: 'exit', status: 1 };
      return GuestInstance.outcomeOf(err);
    }
  }

  /** Components never return to the host to wait (the epoll mode is refused for them). */
  resume(): GuestOutcome {
    return { kind: 'exit', status: EXIT_CANNOT_RUN, message: 'a component cannot be resumed' };
  }

  probes(): undefined {
    return undefined;
  }

  private run(): void {
    const { hostRegion, hostRegionBytes } = this.spawn.layout;
    const port = new SyscallPort(this.memory.i32, hostRegion, hostRegionBytes, this.handOff, this.waits);
    const r = this.register(port.ctrl);
    if (r < 0) throw new GuestExit(STATUS_SETUP, `the host refused the component's syscall pages (errno ${-r})`);
    port.attached();
    const sys = new LinuxCalls(port, () => this.memory);
    const ctx: P2Context = {
      args: this.args,
      env: this.env,
      preopens: this.spawn.preopens,
      sys,
      mem: () => this.memory,
      begin: () => {
        this.importCalls++;
        sys.reset();
      },
      // Half the scratch: the rest holds what a call needs beside its data (a stat record, a path).
      chunk: Math.max(4096, (port.scratchBytes >> 1) & ~4095),
    };
    const { imports, fs } = preview2Interfaces(ctx);
    const missing = this.component.imports.filter((name) => !(name in imports));
    if (missing.length > 0) {
      throw new GuestExit(EXIT_CANNOT_RUN, `the component imports what flexvm does not provide: ${missing.join(', ')} (flexvm serves wasi:cli, wasi:clocks, wasi:random, wasi:io and wasi:filesystem)`);
    }
    try {
      fs.openPreopens();
    } catch (err) {
      throw new GuestExit(STATUS_SETUP, (err as Error).message);
    }
    const instantiate = new Function(this.component.js)() as Instantiate;
    const getCoreModule = (name: string): WebAssembly.Module => {
      const m = this.component.modules[name];
      if (!m) throw new GuestExit(EXIT_CANNOT_RUN, `the transpiled component lacks its core module ${name}`);
      return m;
    };
    let exports: Record<string, unknown>;
    try {
      exports = instantiate(getCoreModule, imports);
    } catch (err) {
      if (err instanceof GuestExit || err instanceof WebAssembly.RuntimeError) throw err;
      throw new GuestExit(EXIT_CANNOT_RUN, `cannot instantiate the component: ${(err as Error)?.message ?? String(err)}`);
    }
    const key = Object.keys(exports).find((k) => k.startsWith('wasi:cli/run@')) ?? 'run';
    const run = (exports[key] as { run?: () => void } | undefined)?.run;
    if (typeof run !== 'function') {
      throw new GuestExit(EXIT_CANNOT_RUN, 'the component exports no wasi:cli/run (a command component, made with --wasi-command or a command adapter, does)');
    }
    run();
  }
}
