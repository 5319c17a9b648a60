import {
  SYS_socket, SYS_bind, SYS_listen, SYS_setsockopt, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, AT_FDCWD,
  O_RDONLY, O_DIRECTORY, EINVAL,
} from '../../abi/v1.js';
import { GuestFault } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { GuestExit } from '../../errors.js';
import type { SyscallPort } from '../syscall-port.js';
import { E, FILETYPE, RIGHTS_DIRECTORY, RIGHTS_DIRECTORY_INHERITING, RIGHTS_REGULAR_FILE, RIGHTS_SOCKET, RIGHTS_TTY } from '../wasi-abi.js';
import type { WasiContext, WasiFn } from './context.js';
import { fdCalls } from './fd-calls.js';
import { FdTable } from './fd-table.js';
import { LinuxCalls, ScratchFull, filetypeOf } from './linux.js';
import { pathCalls } from './path-calls.js';
import { pollCalls } from './poll-calls.js';
import { processCalls } from './process-calls.js';
import { sockCalls } from './sock-calls.js';

/** A directory the program finds preopened: its WASI name and the kernel path of the grant behind it. */
export interface Preopen {
  readonly name: string;
  readonly kernelPath: string;
}

/** A listening TCP socket the host opens for the program before it starts (`--listen ADDR:PORT`). */
export interface Listener {
  readonly address: string;
  readonly port: number;
}

export interface Preview1Setup {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly memory: () => GuestMemory;
  readonly port: SyscallPort;
  readonly preopens: readonly Preopen[];
  readonly listeners: readonly Listener[];
  /** Counts one import call (a mode switch). */
  readonly count: () => void;
}

/** Exit status when the program's descriptors cannot be set up (a grant or listener failed). */
const STATUS_SETUP = 71; // EX_OSERR

/**
 * WASI preview 1 for an unmodified program: all of `wasi_snapshot_preview1`, every call made of
 * Linux system calls posted to the program's syscall pages (see ../syscall-port.ts) and served by
 * the syscall threads against the VM's kernel, so the kernel choice, statistics, tracing, the
 * sandbox and limits apply as to any flexvm guest.
 */
export class Preview1 {
  private readonly ctx: WasiContext;
  private readonly fns: Record<string, WasiFn>;

  constructor(private readonly setup: Preview1Setup) {
    const sys = new LinuxCalls(setup.port, setup.memory);
    this.ctx = { args: setup.args, env: setup.env, mem: setup.memory, sys, fds: new FdTable() };
    this.fns = {
      ...processCalls(this.ctx),
      ...fdCalls(this.ctx),
      ...pathCalls(this.ctx),
      ...pollCalls(this.ctx),
      ...sockCalls(this.ctx),
    };
  }

  /**
   * Descriptors 0-2 (the kernel's standard streams), then the listeners, then the preopened
   * directories, in the order given. Runs once the program's pages are registered.
   */
  init(): void {
    const { sys, fds } = this.ctx;
    sys.reset();
    for (let fd = 0; fd < 3; fd++) {
      const st = sys.fstat(fd);
      const filetype = typeof st === 'number' ? FILETYPE.CHARACTER_DEVICE : filetypeOf(st.mode);
      const base = filetype === FILETYPE.REGULAR_FILE ? RIGHTS_REGULAR_FILE : filetype === FILETYPE.SOCKET_STREAM ? RIGHTS_SOCKET : RIGHTS_TTY;
      fds.set(fd, { kfd: fd, filetype, rightsBase: base, rightsInheriting: 0 });
    }
    for (const l of this.setup.listeners) {
      sys.reset();
      const kfd = this.listen(l);
      if (kfd < 0) throw new GuestExit(STATUS_SETUP, `cannot listen on ${l.address}:${l.port} (errno ${-kfd})`);
      fds.add({ kfd, filetype: FILETYPE.SOCKET_STREAM, rightsBase: RIGHTS_SOCKET, rightsInheriting: 0 });
    }
    for (const p of this.setup.preopens) {
      sys.reset();
      const path = sys.path(new TextEncoder().encode(p.kernelPath));
      const kfd = sys.openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
      if (kfd < 0) throw new GuestExit(STATUS_SETUP, `cannot open the preopened directory ${p.name} (errno ${-kfd})`);
      fds.add({ kfd, filetype: FILETYPE.DIRECTORY, rightsBase: RIGHTS_DIRECTORY, rightsInheriting: RIGHTS_DIRECTORY_INHERITING, preopen: p.name });
    }
  }

  private listen(l: Listener): number {
    const { sys } = this.ctx;
    const parts = l.address.split('.').map(Number);
    if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) return -EINVAL;
    const fd = sys.call(SYS_socket, -1, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    const one = sys.alloc(4);
    const m = this.setup.memory();
    m.setU32(one, 1);
    sys.call(SYS_setsockopt, fd, fd, SOL_SOCKET, SO_REUSEADDR, one, 4);
    const addr = sys.alloc(16);
    m.fill(addr, 16);
    m.view.setUint16(addr, AF_INET, true);
    m.view.setUint16(addr + 2, l.port, false);
    parts.forEach((b, i) => m.setU8(addr + 4 + i, b));
    let r = sys.call(SYS_bind, fd, fd, addr, 16);
    if (r >= 0) r = sys.call(SYS_listen, fd, fd, 128);
    if (r < 0) {
      sys.close(fd);
      return r;
    }
    return fd;
  }

  /**
   * The import object for the names the module imports. Each call counts as one import call,
   * starts with an empty scratch, and turns a bad pointer into EFAULT.
   */
  imports(names: readonly string[]): Record<string, Function> {
    const out: Record<string, Function> = {};
    for (const name of names) {
      const fn = this.fns[name];
      out[name] = (...a: any[]): number => {
        this.setup.count();
        if (!fn) return E.NOSYS; // not a preview 1 function: the module still links
        this.ctx.sys.reset();
        try {
          return fn(...a);
        } catch (err) {
          if (err instanceof GuestFault) return E.FAULT;
          if (err instanceof ScratchFull) return E.NOMEM;
          throw err;
        }
      };
    }
    return out;
  }
}
