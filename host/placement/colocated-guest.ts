import { C_SHIM_SCRATCH, CW_SHUTDOWN, CW_COMPLETIONS, EALREADY } from '../abi/v1.js';
import type { Kernel, ProcessSpec } from '../kernel/kernel.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { acceptControlBlock, addPagesFor, isRefusal, validateControlBlock, type ControlLayout } from '../guest/control-block.js';
import { GuestInstance, type GuestOutcome, type GuestTransport } from '../guest/guest-instance.js';
import { ServedGuest } from '../syscall/served-guest.js';
import type { FromWorker, SpawnInfo } from '../vm/messages.js';
import type { SyscallThread } from '../syscall/syscall-thread.js';
import type { ColocatedCalls } from './colocated-calls.js';

const encoder = new TextEncoder();

/** The kernel facts a colocated guest needs, built by its host thread. */
export type SpecFor = (memory: GuestMemory) => ProcessSpec;

/**
 * An epoll-mode guest running on the same thread as its kernel: its `syscall` import calls the
 * kernel directly (a function call, no hand-off), and `yield` starts a wait and returns to this
 * thread's event loop; the guest is resumed through its `flexsc_resume` export when the wait is over.
 * Used by syscall thread 0 (beside the home `virtual` kernel) and by a guest worker that hosts its
 * own instance of a per-thread kernel (`os`).
 */
export class ColocatedGuest {
  readonly instance: GuestInstance;
  private served: ServedGuest | null = null;
  private layout: ControlLayout | null = null;
  private suspended = false;
  private exited = false;
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly calls: ColocatedCalls;

  constructor(
    private readonly info: SpawnInfo,
    private readonly thread: SyscallThread,
    private readonly kernel: Kernel,
    private readonly spec: SpecFor,
    private readonly post: (m: FromWorker) => void,
  ) {
    if (!thread.colocated) throw new Error('a colocated guest needs a thread that executes calls');
    this.calls = thread.colocated;
    const transport: GuestTransport = {
      register: (ptr) => this.register(ptr),
      // epoll mode posts no entries to pages (its calls run through the import): registered, unused.
      addPages: (ptr, count) => addPagesFor(this.instance.memory, this.layout, ptr, count),
      syscall: (ptr) => {
        if (this.served) this.calls.execute(this.served, ptr);
      },
      yield: (ptr) => this.yieldTo(ptr),
      shimCall: (nr, a0, a1, a2, a3) => (this.served ? this.calls.shim(this.served, nr, a0, a1, a2, a3) : null),
      scratch: () => (this.layout ? this.layout.ctrl + C_SHIM_SCRATCH : null),
      writeDirect: (fd, data) => this.post({ type: 'stdio', gid: info.gid, fd, data }),
      ready: (detail) => this.post({ type: 'guest-ready', gid: info.gid, detail }),
    };
    this.instance = new GuestInstance(info.module, info.memory, { name: info.name, args: info.args, env: info.env, memoryImport: info.memoryImport }, transport);
  }

  start(): void {
    this.settle(this.instance.start());
  }

  /** Asks the guest to stop: its loop sees the shutdown word (resumed first if it was waiting). */
  kill(reason: number): void {
    const served = this.served;
    if (!served || this.exited) return;
    Atomics.store(served.i32, served.ctrlW + CW_SHUTDOWN, reason);
    Atomics.add(served.i32, served.ctrlW + CW_COMPLETIONS, 1);
    if (this.suspended) this.resume();
  }

  private register(ptr: number): number {
    if (this.served) return -EALREADY;
    const mem = this.instance.memory;
    const checked = validateControlBlock(mem, ptr, this.info.limits.maxPages);
    if (isRefusal(checked)) {
      this.post({ type: 'stdio', gid: this.info.gid, fd: 2, data: encoder.encode(`flexvm: ${this.info.name}: registration refused: ${checked.message}\n`) });
      this.post({ type: 'refused', gid: this.info.gid, message: checked.message });
      return -checked.errno;
    }
    acceptControlBlock(mem, checked, 1, this.info.mode, this.info.pid);
    this.layout = checked;
    const proc = this.kernel.attach(this.spec(mem));
    this.served = new ServedGuest(this.info.gid, this.info.pid, this.info.name, mem, checked, 1, this.thread.index, false, proc, this.info.counters);
    this.thread.attach(this.served);
    this.post({ type: 'registered', gid: this.info.gid, layout: checked, threads: 1, colocated: true });
    return 0;
  }

  private yieldTo(ptr: number): number {
    const served = this.served;
    if (!served) return 0;
    const r = this.calls.start(served, ptr, () => {
      served.colocatedSuspended = false;
      this.resume();
    });
    if (r === 1) served.colocatedSuspended = true;
    return r;
  }

  private resume(): void {
    if (this.exited) return;
    this.suspended = false;
    this.settle(this.instance.resume());
  }

  private settle(outcome: GuestOutcome): void {
    if (outcome.kind === 'suspended') {
      this.suspended = true;
      // A suspended guest may wait on nothing that keeps this thread's event loop alive.
      this.keepAlive ??= setInterval(() => {}, 1 << 30);
      return;
    }
    this.exited = true;
    if (this.keepAlive) clearInterval(this.keepAlive);
    // Its calls ran on this thread: close what it left open and report what it did.
    const counts = this.thread.detach(this.info.gid);
    this.post({ type: 'exit', gid: this.info.gid, status: outcome.status, message: outcome.message, importCalls: this.instance.importCalls, counts, probes: this.instance.probes() });
  }
}
