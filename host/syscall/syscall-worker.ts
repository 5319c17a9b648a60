// Syscall thread entry point: loads the kernel (if this thread executes calls), then serves the
// guests the main thread attaches. In epoll mode it also runs guests beside a home kernel.
import { parentPort, workerData } from 'node:worker_threads';
import { EXIT_CANNOT_RUN, internalError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { makeProcessSpec } from './process-spec.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { ServedGuest } from './served-guest.js';
import { ColocatedGuest } from '../placement/colocated-guest.js';
import { RateLimiter } from './rate-limit.js';
import { loadKernelModule } from '../kernel/registry.js';
import type { AttachInfo, FromWorker, SpawnInfo, SyscallWorkerData, ToSyscallWorker } from '../vm/messages.js';
import { SyscallThread } from './syscall-thread.js';
import { VmShared } from './vm-shared.js';

const data = workerData as SyscallWorkerData;
const post = (m: FromWorker): void => parentPort!.postMessage(m);
const log = (message: string): void => post({ type: 'log', message: `syscall thread ${data.index}: ${message}` });
/** The kernel's diagnostics, which guests can trigger too (a listen that fails...): rate-limited. */
const kernelLimit = new RateLimiter(20, 2);
const kernelLog = (message: string): void => {
  const line = kernelLimit.admit(message);
  if (line !== null) log(line);
};

let kernel: Kernel | null = null;
let thread: SyscallThread;
/** Guests running on this thread (epoll mode), by gid. */
const colocated = new Map<number, ColocatedGuest>();

function attach(a: AttachInfo): void {
  if (!kernel && data.index >= a.threads) return; // this thread serves no page of the guest
  if (kernel && data.index >= a.threads && data.index !== 0) return;
  const memory = new GuestMemory(a.memory);
  const proc = kernel ? kernel.attach(makeProcessSpec(a, memory, a.threads, post)) : null;
  const scanned = data.index < a.threads;
  thread.attach(new ServedGuest(a.gid, a.pid, a.name, memory, a.layout, a.threads, data.index, scanned, proc, a.counters));
}

/** epoll mode: a guest that runs on this thread and calls this thread's kernel directly. */
function spawnColocated(info: SpawnInfo): void {
  if (!kernel) {
    post({ type: 'exit', gid: info.gid, status: EXIT_CANNOT_RUN, message: 'this syscall thread has no kernel to run an epoll-mode guest beside', importCalls: 0 });
    return;
  }
  const guest = new ColocatedGuest(info, thread, kernel, (mem) => makeProcessSpec(info, mem, 1, post), (m) => {
    if (m.type === 'exit') colocated.delete(info.gid);
    post(m);
  });
  colocated.set(info.gid, guest);
  guest.start();
}

async function main(): Promise<void> {
  const mod = await loadKernelModule(data.kernel);
  const executes = mod.placement === 'per-thread' || data.index === 0;
  kernel = executes ? mod.createKernel(data.kernel, { thread: data.index, threadCount: data.count, log: kernelLog }) : null;
  thread = new SyscallThread({
    index: data.index,
    count: data.count,
    kernel,
    kernelPerThread: mod.placement === 'per-thread',
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
          spawnColocated(m.guest);
          break;
        case 'kill':
          colocated.get(m.gid)?.kill(m.reason);
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
      log(internalError(`message ${m.type} failed: ${(err as Error).stack ?? String(err)}`));
    }
  });
  post({ type: 'ready' });
}

main().catch((err: unknown) => post({ type: 'fatal', message: (err as Error).message ?? String(err) }));
