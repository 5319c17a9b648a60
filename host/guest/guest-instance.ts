import { GuestMemory } from '../memory/guest-memory.js';
import { EXIT_CANNOT_RUN, EXIT_TRAP, GuestExit } from '../errors.js';
import { preview1Imports } from '../wasi/guest-shim.js';
import type { WasiProgram } from '../wasi/wasi-program.js';

/** How the guest's three flexvm imports and the WASI shim reach a kernel (differs by thread). */
export interface GuestTransport {
  /** `flexvm.register`: validates the control block; 0 or -errno. */
  register(ctrlPtr: number): number;
  /** `flexvm.add_pages`: registers more syscall pages; the new page count or -errno. */
  addPages(ptr: number, count: number): number;
  /** `flexvm.syscall`: executes the entry; returns with it DONE. */
  syscall(entryPtr: number): void;
  /** `flexvm.yield`: starts the entry; 0 if DONE already, 1 if the guest must return and be resumed. */
  yield(entryPtr: number): number;
  /** A Linux call on behalf of an import shim, or null before registration. */
  shimCall(nr: number, a0: number, a1: number, a2: number, a3: number): number | null;
  /** Scratch bytes in guest memory for shim calls, or null before registration. */
  scratch(): number | null;
  /** Output written before registration. */
  writeDirect(fd: 1 | 2, data: Uint8Array): void;
  /** `flexvm.ready`: the guest says it is ready, with its own text. */
  ready(detail: string): void;
  /**
   * `flexvm.wait`/`flexvm.wake`, used by a guest told to (control field `waits` = WAITS_HOST: a
   * native kernel, whose threads sleep on the kernel's futex). Absent: V8's own waits on the memory.
   */
  waits?: { wait(addr: number, expected: number, timeoutUs: number): number; wake(addr: number): number };
}

export interface GuestIdentity {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** Module and field of the memory import. */
  readonly memoryImport: { readonly module: string; readonly name: string };
  /** An unmodified WASI program: its preview 1 implementation, set up before `_start`. */
  readonly wasiProgram?: WasiProgram;
}

export type GuestOutcome =
  | { readonly kind: 'exit'; readonly status: number; readonly message?: string }
  | { readonly kind: 'suspended' };

/**
 * Exported globals whose names start with this are probes: counters an instrumented module keeps
 * (flexvm model's instruction counting). Their values are reported with the guest's exit.
 */
export const PROBE_EXPORT_PREFIX = 'flexvm_probe:';

const utf16 = new TextDecoder('utf-16le');
const utf8 = new TextDecoder();
/** The most of a guest's ready text that is passed on. */
const READY_DETAIL_LIMIT = 1024;

/**
 * One guest Wasm instance: links its imports (flexvm, WASI preview1, AssemblyScript's env), runs
 * `_start`, and turns the ways a guest can end (returning, proc_exit, abort, a trap) into an outcome.
 * A guest can never crash the host: every exception out of it becomes an exit status and a message.
 */
export class GuestInstance {
  private instance: WebAssembly.Instance | null = null;
  readonly memory: GuestMemory;
  /** Import calls made by the guest: its mode switches. */
  importCalls = 0;
  private yieldPending = false;

  constructor(
    private readonly module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly identity: GuestIdentity,
    private readonly transport: GuestTransport,
  ) {
    this.memory = new GuestMemory(memory);
  }

  private imports(): WebAssembly.Imports {
    const t = this.transport;
    const count = (): void => {
      this.importCalls++;
    };
    const flexvm = {
      register: (ptr: number): number => {
        count();
        return t.register(ptr);
      },
      add_pages: (ptr: number, pages: number): number => {
        count();
        return t.addPages(ptr, pages);
      },
      syscall: (entry: number): void => {
        count();
        t.syscall(entry);
      },
      yield: (entry: number): number => {
        count();
        const r = t.yield(entry);
        if (r === 1) this.yieldPending = true;
        return r;
      },
    };
    const i32 = new Int32Array(this.memory.memory.buffer);
    const waits = t.waits ?? {
      wait: (addr: number, expected: number, timeoutUs: number): number => {
        if (addr % 4 !== 0 || addr < 0 || addr + 4 > i32.byteLength) return -14; // EFAULT
        const r = Atomics.wait(i32, addr >> 2, expected, timeoutUs < 0 ? Infinity : timeoutUs / 1000);
        return r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
      },
      wake: (addr: number): number => {
        if (addr % 4 !== 0 || addr < 0 || addr + 4 > i32.byteLength) return -14;
        Atomics.notify(i32, addr >> 2);
        return 0;
      },
    };
    let readySaid = false;
    const ready = (ptr: number, len: number): void => {
      count();
      if (readySaid) return;
      readySaid = true;
      this.memory.size; // refreshes the views if the memory grew
      const bytes = this.memory.u8;
      const n = Math.max(0, Math.min(len | 0, READY_DETAIL_LIMIT));
      // A pointer or length past the end is the guest's mistake: it is said ready with what fits.
      const start = Math.max(0, Math.min(ptr >>> 0, bytes.byteLength));
      t.ready(utf8.decode(bytes.slice(start, Math.min(start + n, bytes.byteLength))));
    };
    Object.assign(flexvm, { wait: waits.wait, wake: waits.wake, ready });
    const needed = WebAssembly.Module.imports(this.module);
    const wasiNames = needed.filter((i) => i.module === 'wasi_snapshot_preview1').map((i) => i.name);
    const wasi = this.identity.wasiProgram
      ? this.identity.wasiProgram.imports(wasiNames, count)
      : preview1Imports(
      {
        args: this.identity.args,
        env: this.identity.env,
        memory: () => this.memory,
        syscall: (nr, a0 = 0, a1 = 0, a2 = 0, a3 = 0) => t.shimCall(nr, a0, a1, a2, a3),
        scratch: () => t.scratch(),
        writeDirect: (fd, data) => t.writeDirect(fd, data),
        count,
      },
      wasiNames,
    );
    const env: Record<string, unknown> = {
      // AssemblyScript built without the WASI shim.
      abort: (msg: number, file: number, line: number, col: number) => {
        count();
        throw new GuestExit(EXIT_TRAP, `abort: ${this.asString(msg)} at ${this.asString(file)}:${line}:${col}`);
      },
      trace: (msg: number, n: number, ...vals: number[]) => {
        count();
        const text = `trace: ${this.asString(msg)}${n ? ' ' + vals.slice(0, n).join(', ') : ''}\n`;
        t.writeDirect(2, new TextEncoder().encode(text));
      },
      seed: () => {
        count();
        return 0x5eed;
      },
    };
    const imports: WebAssembly.Imports = {
      flexvm: flexvm as unknown as WebAssembly.ModuleImports,
      wasi_snapshot_preview1: wasi as unknown as WebAssembly.ModuleImports,
      env: env as WebAssembly.ModuleImports,
    };
    const mem = this.identity.memoryImport;
    imports[mem.module] = { ...(imports[mem.module] ?? {}), [mem.name]: this.memory.memory };
    const missing = needed.filter((i) => imports[i.module]?.[i.name] === undefined);
    if (missing.length) {
      throw new GuestExit(EXIT_CANNOT_RUN, `guest imports what flexvm does not provide: ${missing.map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ')}`);
    }
    return imports;
  }

  /** Reads an AssemblyScript string (UTF-16, byte length in the header word before it). */
  private asString(ptr: number): string {
    try {
      if (!ptr) return '';
      const len = this.memory.u32(ptr - 4);
      return utf16.decode(this.memory.bytes(ptr, Math.min(len, 4096)));
    } catch {
      return '?';
    }
  }

  /** The values of the module's probe globals (none unless it was instrumented). */
  probes(): Record<string, number> | undefined {
    if (!this.instance) return undefined;
    let out: Record<string, number> | undefined;
    for (const [name, value] of Object.entries(this.instance.exports)) {
      if (!name.startsWith(PROBE_EXPORT_PREFIX) || !(value instanceof WebAssembly.Global)) continue;
      (out ??= {})[name.slice(PROBE_EXPORT_PREFIX.length)] = Number(value.value);
    }
    return out;
  }

  /** Instantiates and runs `_start`. */
  start(): GuestOutcome {
    return this.enter(() => {
      this.identity.wasiProgram?.start(this.memory);
      const imports = this.imports();
      this.instance = new WebAssembly.Instance(this.module, imports);
      const start = this.instance.exports['_start'] ?? this.instance.exports['main'];
      if (typeof start !== 'function') throw new GuestExit(EXIT_CANNOT_RUN, 'guest exports no _start function');
      (start as () => void)();
    });
  }

  /** epoll mode: continues a guest that returned to the host to wait. */
  resume(): GuestOutcome {
    return this.enter(() => {
      const resume = this.instance?.exports['flexsc_resume'];
      if (typeof resume !== 'function') {
        throw new GuestExit(EXIT_CANNOT_RUN, 'guest waited in epoll mode but does not export flexsc_resume (re-export it from its entry file)');
      }
      (resume as () => void)();
    });
  }

  private enter(fn: () => void): GuestOutcome {
    this.yieldPending = false;
    try {
      fn();
    } catch (err) {
      return GuestInstance.outcomeOf(err);
    }
    if (this.yieldPending) return { kind: 'suspended' };
    return { kind: 'exit', status: 0 };
  }

  static outcomeOf(err: unknown): GuestOutcome {
    if (err instanceof GuestExit) {
      const code = err.status >>> 0;
      // Like a shell, keep the low byte; a non-zero status never reads as success.
      const status = code === 0 ? 0 : code & 0xff || 1;
      return err.reason ? { kind: 'exit', status, message: err.reason } : { kind: 'exit', status };
    }
    if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
      const frames = (err.stack ?? '')
        .split('\n')
        .filter((l) => l.includes('wasm://'))
        .slice(0, 4)
        .map((l) => l.trim())
        .join('; ');
      return { kind: 'exit', status: EXIT_TRAP, message: `guest trapped: ${err.message}${frames ? ` (${frames})` : ''}` };
    }
    if (err instanceof WebAssembly.LinkError) return { kind: 'exit', status: EXIT_CANNOT_RUN, message: `cannot link guest: ${err.message}` };
    return { kind: 'exit', status: EXIT_TRAP, message: `guest failed: ${(err as Error)?.message ?? String(err)}` };
  }
}
