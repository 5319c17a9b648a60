import type { HandoffWaits } from '../guest/handoff.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { GuestExit } from '../errors.js';
import { Preview1 } from './preview1/index.js';
import { SyscallPort } from './syscall-port.js';
import type { WasiSpawn } from './wasi-spawn.js';

/** Exit status when the host cannot register the program's pages (EX_OSERR). */
const STATUS_SETUP = 71;

/**
 * An unmodified WASI program on a guest thread: lays out its control block and syscall pages in
 * the host region, registers them as libflexsc would (`register`, the same path a flexvm guest
 * takes), and sets up preview 1 (descriptors, preopens, listeners) before `_start` runs.
 */
export class WasiProgram {
  private preview1: Preview1 | null = null;

  constructor(
    private readonly spawn: WasiSpawn,
    private readonly args: readonly string[],
    private readonly env: readonly string[],
    private readonly register: (ctrl: number) => number,
    /** sync mode: the hand-off of one entry (returns when it is DONE). */
    private readonly handOff: (entryPtr: number) => void,
    private readonly waits?: HandoffWaits,
  ) {}

  start(memory: GuestMemory): void {
    const { hostRegion, hostRegionBytes } = this.spawn.layout;
    const port = new SyscallPort(memory.i32, hostRegion, hostRegionBytes, this.handOff, this.waits);
    const r = this.register(port.ctrl);
    if (r < 0) throw new GuestExit(STATUS_SETUP, `the host refused the WASI program's syscall pages (errno ${-r})`);
    port.attached();
    this.preview1 = new Preview1({
      args: this.args,
      env: this.env,
      memory: () => memory,
      port,
      preopens: this.spawn.preopens,
      listeners: this.spawn.listeners,
      count: () => this.count(),
    });
    this.preview1.init();
  }

  private count: () => void = () => {};

  imports(names: readonly string[], count: () => void): Record<string, Function> {
    this.count = count;
    if (!this.preview1) throw new Error('WasiProgram.imports before start');
    return this.preview1.imports(names);
  }
}
