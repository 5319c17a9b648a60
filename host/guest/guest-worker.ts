// Guest thread: runs one guest instance. Its calls go to the syscall threads (exceptionless and
// sync modes), or, in epoll mode with a per-thread kernel, to a kernel instance on this very thread.
// Everything the guest does ends in an 'exit' message; nothing it does can throw here.
import { parentPort, workerData } from 'node:worker_threads';
import { EXIT_CANNOT_RUN } from '../errors.js';
import { C_SHIM_SCRATCH, MODE_EXCEPTIONLESS, EALREADY, SYSCALLS } from '../abi/v1.js';
import { acceptControlBlock, addPagesFor, isRefusal, validateControlBlock, type ControlLayout } from './control-block.js';
import { GuestInstance, type GuestTransport } from './guest-instance.js';
import { Handoff } from './handoff.js';
import { loadGuestRunner, loadKernelModule } from '../kernel/registry.js';
import type { FromWorker, SpareWorkerData, SpawnInfo, ToGuestWorker } from '../vm/messages.js';

// What only some guests need is imported when one does (WASI programs, components, the epoll mode's
// own kernel): a worker starts sooner the less it loads (flexvm run's start-up, bench/suites/startup.ts).

/** The guest (from workerData, or for a spare worker from its 'start' message). */
let info!: SpawnInfo;
const post = (m: FromWorker): void => parentPort!.postMessage(m);
/** Calls whose first argument is the descriptor that picks their syscall thread (the ABI's route column). */
const FD_ROUTED = new Set(SYSCALLS.filter((s) => s.route === 0).map((s) => s.nr));
const encoder = new TextEncoder();

/** exceptionless and sync modes: calls are handed to the syscall threads. */
async function runWithSyscallThreads(): Promise<void> {
  let handoff: Handoff | null = null;
  let layout: ControlLayout | null = null;
  const transport: GuestTransport = {
    register(ptr) {
      if (handoff) return -EALREADY;
      const checked = validateControlBlock(instance.memory, ptr, info.limits.maxPages);
      if (isRefusal(checked)) {
        transport.writeDirect(2, encoder.encode(`flexvm: ${info.name}: registration refused: ${checked.message}\n`));
        post({ type: 'refused', gid: info.gid, message: checked.message });
        return -checked.errno;
      }
      const threads = Math.min(info.threads, checked.pageCount);
      acceptControlBlock(instance.memory, checked, threads, info.mode, info.pid);
      layout = checked;
      handoff = new Handoff(new Int32Array(info.memory.buffer), checked, threads, info.mode === MODE_EXCEPTIONLESS, info.syncSpinUs);
      post({ type: 'registered', gid: info.gid, layout: checked, threads, colocated: false });
      return 0;
    },
    addPages(ptr, count) {
      // The syscall threads find the new pages in the layout's page table on their next pass.
      return addPagesFor(instance.memory, layout, ptr, count);
    },
    syscall(entry) {
      handoff?.syscall(entry);
    },
    yield(entry) {
      // Only the epoll mode returns to the host; elsewhere the call simply completes.
      handoff?.syscall(entry);
      return 0;
    },
    shimCall(nr, a0, a1, a2, a3) {
      return handoff ? handoff.shimCall(nr, a0, a1, a2, a3, FD_ROUTED.has(nr)) : null;
    },
    scratch() {
      return layout ? layout.ctrl + C_SHIM_SCRATCH : null;
    },
    writeDirect(fd, data) {
      post({ type: 'stdio', gid: info.gid, fd, data });
    },
    ready(detail) {
      post({ type: 'guest-ready', gid: info.gid, detail });
    },
  };
  const { WasiProgram } = info.wasi && !info.component ? await import('../wasi/wasi-program.js') : { WasiProgram: null };
  const { ComponentInstance } = info.component ? await import('../wasi/preview2/component-instance.js') : { ComponentInstance: null };
  // An unmodified WASI program: the host registers pages on its behalf and serves preview 1 on them.
  const wasiProgram = WasiProgram && info.wasi ? new WasiProgram(info.wasi, info.args, info.env, (ctrl) => transport.register(ctrl), (entry) => transport.syscall(entry)) : undefined;
  // A preview 2 component: its wasi:* interfaces are served on a port the host registers for it.
  const instance = ComponentInstance && info.component && info.wasi
    ? new ComponentInstance(info.component, info.memory, info.wasi, info.args, info.env, (ctrl) => transport.register(ctrl), (entry) => transport.syscall(entry))
    : new GuestInstance(info.module, info.memory, { name: info.name, args: info.args, env: info.env, memoryImport: info.memoryImport, ...(wasiProgram ? { wasiProgram } : {}) }, transport);
  const outcome = instance.start();
  if (outcome.kind === 'exit') {
    post({ type: 'exit', gid: info.gid, status: outcome.status, message: outcome.message, importCalls: instance.importCalls, probes: instance.probes() });
  } else {
    post({ type: 'exit', gid: info.gid, status: EXIT_CANNOT_RUN, message: 'guest returned to the host to wait, which only the epoll mode allows', importCalls: instance.importCalls, probes: instance.probes() });
  }
}

/** epoll mode with a per-thread kernel: this thread hosts the guest's kernel instance. */
async function runWithOwnKernel(): Promise<void> {
  const options = info.kernel!;
  const [{ ColocatedGuest }, { makeProcessSpec }, { SyscallThread }, { VmShared }] = await Promise.all([
    import('../placement/colocated-guest.js'),
    import('../syscall/process-spec.js'),
    import('../syscall/syscall-thread.js'),
    import('../syscall/vm-shared.js'),
  ]);
  const log = (message: string): void => post({ type: 'log', message: `${info.name}: ${message}` });
  const mod = await loadKernelModule(options);
  const kernel = mod.createKernel(options, { thread: 0, threadCount: 1, colocated: true, log });
  const thread = new SyscallThread({
    index: 0,
    count: 1,
    kernel,
    shared: VmShared.create(1),
    spinUs: 0,
    limits: info.limits,
    autoRun: false,
    log,
    ...(info.trace ? { trace: (line: string) => post({ type: 'trace', line }) } : {}),
  });
  const guest = new ColocatedGuest(info, thread, kernel, (mem) => makeProcessSpec(info, mem, 1, post), post);
  // Stopping a guest that waits in this thread's event loop: resume it so its loop sees the request.
  parentPort!.on('message', (m: ToGuestWorker) => {
    if (m.type === 'kill') guest.kill(m.reason);
  });
  guest.start();
}

function start(spawn: SpawnInfo): void {
  info = spawn;
  if (info.runner) {
    // An executor with its own guest side (the native kernel) runs the guest in every mode.
    loadGuestRunner(info.runner)
      .then((run) => run(info, post))
      .catch((err: unknown) =>
        post({ type: 'exit', gid: info.gid, status: 127, message: `cannot start the guest: ${(err as Error).message}`, importCalls: 0 }),
      );
  } else if (info.kernel) {
    runWithOwnKernel().catch((err: unknown) =>
      post({ type: 'exit', gid: info.gid, status: EXIT_CANNOT_RUN, message: `cannot start the guest's kernel: ${(err as Error).message}`, importCalls: 0 }),
    );
  } else {
    runWithSyscallThreads().catch((err: unknown) =>
      post({ type: 'exit', gid: info.gid, status: EXIT_CANNOT_RUN, message: `cannot start the guest: ${(err as Error).message}`, importCalls: 0 }),
    );
  }
}

const data = workerData as SpawnInfo | SpareWorkerData;
if ('spare' in data) {
  // A spare (host/vm/guest-worker-pool.ts): load what its guest will likely need, then wait for it.
  if (data.runner !== null) void loadGuestRunner({ name: data.runner }).catch(() => {});
  parentPort!.once('message', (m: ToGuestWorker) => {
    if (m.type === 'start') start(m.info);
  });
} else {
  start(data);
}
