// Syscall thread entry point: loads the kernel (if this thread executes calls), then serves the
// guests the main thread attaches. In epoll mode it also runs guests beside a home kernel.
import { parentPort, workerData } from 'node:worker_threads';
import { C_SHIM_SCRATCH, CW_SHUTDOWN, CW_COMPLETIONS, EALREADY } from '../abi/v1.js';
import type { Kernel, ProcessSpec } from '../kernel/kernel.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { acceptControlBlock, isRefusal, validateControlBlock, type ControlLayout } from './control-block.js';
import { GuestInstance, type GuestOutcome, type GuestTransport } from './guest-instance.js';
import { GuestSlot } from './guest-slot.js';
import { loadKernelModule } from './kernels.js';
import type { AttachInfo, FromWorker, SpawnInfo, SyscallWorkerData, ToSyscallWorker } from './messages.js';
import { SyscallThread } from './syscall-thread.js';
import { VmShared } from './vm-shared.js';

const data = workerData as SyscallWorkerData;
const post = (m: FromWorker): void => parentPort!.postMessage(m);
const log = (message: string): void => post({ type: 'log', message: `syscall thread ${data.index}: ${message}` });
const encoder = new TextEncoder();

function processSpec(gid: number, pid: number, name: string, memory: GuestMemory, a: Pick<AttachInfo, 'grants' | 'stdin' | 'limits' | 'shared'>, fdClasses: number): ProcessSpec {
  return {
    pid,
    name,
    memory,
    grants: a.grants,
    stdin: a.stdin,
    limits: a.limits,
    fdClasses,
    shared: a.shared,
    stdio: { write: (fd, bytes) => post({ type: 'stdio', gid, fd, data: bytes }) },
  };
}

let kernel: Kernel | null = null;
let thread: SyscallThread;
/** Guests running on this thread (epoll mode), by gid. */
const local = new Map<number, { instance: GuestInstance; slot: GuestSlot | null; suspended: boolean }>();

function attach(a: AttachInfo): void {
  if (!kernel && data.index >= a.threads) return; // this thread serves no page of the guest
  if (kernel && data.index >= a.threads && data.index !== 0) return;
  const memory = new GuestMemory(a.memory);
  const proc = kernel ? kernel.attach(processSpec(a.gid, a.pid, a.name, memory, a, a.threads)) : null;
  const scanned = data.index < a.threads;
  thread.attach(new GuestSlot(a.gid, a.pid, a.name, memory, a.layout, a.threads, data.index, scanned, proc));
}

/** epoll mode: a guest that runs on this thread and calls this thread's kernel directly. */
function spawnLocal(info: SpawnInfo): void {
  if (!kernel) {
    post({ type: 'exit', gid: info.gid, status: 127, message: 'this syscall thread has no kernel to run an epoll-mode guest beside', importCalls: 0 });
    return;
  }
  const k = kernel;
  let layout: ControlLayout | null = null;
  const entry = { instance: null as unknown as GuestInstance, slot: null as GuestSlot | null, suspended: false };
  const transport: GuestTransport = {
    register(ptr) {
      if (entry.slot) return -EALREADY;
      const mem = entry.instance.memory;
      const checked = validateControlBlock(mem, ptr);
      if (isRefusal(checked)) {
        transport.writeDirect(2, encoder.encode(`flexvm: ${info.name}: registration refused: ${checked.message}\n`));
        post({ type: 'refused', gid: info.gid, message: checked.message });
        return -checked.errno;
      }
      acceptControlBlock(mem, checked, 1, info.mode, info.pid);
      layout = checked;
      const proc = k.attach(processSpec(info.gid, info.pid, info.name, mem, info, 1));
      entry.slot = new GuestSlot(info.gid, info.pid, info.name, mem, checked, 1, data.index, false, proc);
      thread.attach(entry.slot);
      post({ type: 'registered', gid: info.gid, layout: checked, threads: 1, local: true });
      return 0;
    },
    syscall(ptr) {
      if (entry.slot) thread.executeLocal(entry.slot, ptr);
    },
    yield(ptr) {
      const slot = entry.slot;
      if (!slot) return 0;
      const r = thread.startLocal(slot, ptr, () => {
        slot.suspendedLocally = false;
        continueGuest();
      });
      if (r === 1) slot.suspendedLocally = true;
      return r;
    },
    shimCall(nr, a0, a1, a2, a3) {
      return entry.slot ? thread.shimLocal(entry.slot, nr, a0, a1, a2, a3) : null;
    },
    scratch() {
      return layout ? layout.ctrl + C_SHIM_SCRATCH : null;
    },
    writeDirect(fd, bytes) {
      post({ type: 'stdio', gid: info.gid, fd, data: bytes });
    },
  };
  entry.instance = new GuestInstance(info.module, info.memory, { name: info.name, args: info.args, env: info.env, memoryImport: info.memoryImport }, transport);
  local.set(info.gid, entry);
  const settle = (outcome: GuestOutcome): void => {
    if (outcome.kind === 'suspended') {
      entry.suspended = true;
      return;
    }
    local.delete(info.gid);
    post({ type: 'exit', gid: info.gid, status: outcome.status, message: outcome.message, importCalls: entry.instance.importCalls });
  };
  const continueGuest = (): void => {
    entry.suspended = false;
    settle(entry.instance.resume());
  };
  settle(entry.instance.start());
}

function kill(gid: number, reason: number): void {
  const entry = local.get(gid);
  const slot = entry?.slot;
  if (!entry || !slot) return;
  Atomics.store(slot.i32, slot.ctrlW + CW_SHUTDOWN, reason);
  Atomics.add(slot.i32, slot.ctrlW + CW_COMPLETIONS, 1);
  if (entry.suspended) {
    // Resume it so its loop sees the request and exits on its own.
    entry.suspended = false;
    slot.suspendedLocally = false;
    const outcome = entry.instance.resume();
    if (outcome.kind === 'exit') {
      local.delete(gid);
      post({ type: 'exit', gid, status: outcome.status, message: outcome.message, importCalls: entry.instance.importCalls });
    } else entry.suspended = true;
  }
}

async function main(): Promise<void> {
  const mod = await loadKernelModule(data.kernel);
  const executes = mod.placement === 'per-thread' || data.index === 0;
  kernel = executes ? mod.createKernel(data.kernel, { thread: data.index, threadCount: data.count, log }) : null;
  thread = new SyscallThread({
    index: data.index,
    count: data.count,
    kernel,
    shared: new VmShared(data.shared, data.count),
    spinUs: data.spinUs,
    limits: data.limits,
    log,
    ...(data.trace ? { trace: (line: string) => post({ type: 'trace', line }) } : {}),
  });
  parentPort!.on('message', (m: ToSyscallWorker) => {
    try {
      switch (m.type) {
        case 'attach':
          attach(m.guest);
          break;
        case 'detach':
          post({ type: 'detached', gid: m.gid, thread: data.index, counts: thread.detach(m.gid) });
          break;
        case 'spawn':
          spawnLocal(m.guest);
          break;
        case 'kill':
          kill(m.gid, m.reason);
          break;
        case 'close':
          thread.close();
          void Promise.resolve(kernel?.close?.()).finally(() => {
            post({ type: 'closed' });
            parentPort!.close();
          });
          break;
      }
    } catch (err) {
      log(`message ${m.type} failed: ${(err as Error).stack ?? String(err)}`);
    }
  });
  post({ type: 'ready' });
}

main().catch((err: unknown) => post({ type: 'fatal', message: (err as Error).message ?? String(err) }));
