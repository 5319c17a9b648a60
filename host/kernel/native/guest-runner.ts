// A guest's worker under the native kernel, in all three modes. The worker attaches the guest to
// the native executor itself at registration (no message round trip before the first call), tells
// the guest to sleep and ring through the addon (control field waits = HOST: the syscall threads
// sleep on the kernel's futex, which V8's waits do not use), and then:
// - exceptionless: the guest posts to its pages; native threads pick the calls up;
// - sync: each call is a blocking hand-off to native thread 0 (Handoff, with futex waits);
// - epoll: each call goes from the guest's `syscall`/`yield` import straight into the addon, which
//   makes the real system call on this thread; a call that would block parks on this thread's own
//   epoll set, which this worker waits on while the guest has returned to the host.
import { C_SHIM_SCRATCH, CW_SHUTDOWN, EALREADY, EINVAL, MODE_EPOLL, MODE_EXCEPTIONLESS, SYSCALLS, WAITS_HOST } from '../../abi/v1.js';
import { acceptControlBlock, addPages, isRefusal, validateControlBlock, type ControlLayout } from '../../guest/control-block.js';
import { GuestInstance, type GuestOutcome, type GuestTransport } from '../../guest/guest-instance.js';
import { Handoff, type HandoffWaits } from '../../guest/handoff.js';
import type { FromWorker, SpawnInfo, ToGuestWorker } from '../../vm/messages.js';
import { createRequire } from 'node:module';
import type { NativeAddon, NativeLocal } from './addon.js';
import type { NativeRunnerData } from './executor.js';
import type { ThisThreadGuest } from '../../vm/this-thread.js';
import { lazyBuiltin } from '../../lazy-builtin.js';

const workerThreads = lazyBuiltin<typeof import('node:worker_threads')>('node:worker_threads');

const FD_ROUTED = new Set(SYSCALLS.filter((s) => s.route === 0).map((s) => s.nr));
const encoder = new TextEncoder();
/** Longest wait of a suspended epoll-mode guest before its worker looks at its messages (ms). */
const LOCAL_WAIT_MS = 50;

/**
 * Runs `info`'s guest on this thread: its worker's, or with `here` the VM's own (exceptionless and
 * sync modes only: the epoll mode returns to this thread's event loop to wait).
 */
export async function runNativeGuest(info: SpawnInfo, post: (m: FromWorker) => void, here?: ThisThreadGuest): Promise<void> {
  const data = info.runner!.data as NativeRunnerData;
  // The main thread found and loaded the addon already (its executor runs in it): load that file.
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(data.addonPath) as NativeAddon;
  } catch (err) {
    post({ type: 'exit', gid: info.gid, status: 127, message: `the native kernel is unavailable: ${(err as Error).message}`, importCalls: 0 });
    return;
  }
  // The same memory whatever its size: the addon reads the current length on every call. (A view
  // made here would keep the length of now; the guest may grow before it registers.)
  const sab = info.memory.buffer as SharedArrayBuffer;
  const epoll = info.mode === MODE_EPOLL;
  // On the VM's thread every sleep goes through `here.sleep`, where requests from outside are seen.
  const futex: HandoffWaits = {
    wait: here
      ? (i32, index, expected, ms) =>
          void here.sleep(
            {
              wait: (us) => HANDOFF_RESULT[addon.wait(sab, index * 4, expected, us < 0 ? -1 : us / 1000)],
              word: () => Atomics.load(i32, index),
              expected,
            },
            ms < 0 || ms === Infinity ? -1 : ms * 1000,
          )
      : (_i32, index, expected, ms) => void addon.wait(sab, index * 4, expected, ms),
    notify: (_i32, index) => addon.wake(sab, index * 4),
  };
  let handoff: Handoff | null = null;
  let local: NativeLocal | null = null;
  let layout: ControlLayout | null = null;
  const refuse = (message: string, errno: number): number => {
    transport.writeDirect(2, encoder.encode(`flexvm: ${info.name}: registration refused: ${message}\n`));
    post({ type: 'refused', gid: info.gid, message });
    return -errno;
  };
  const transport: GuestTransport = {
    register(ptr) {
      if (layout) return -EALREADY;
      const checked = validateControlBlock(instance.memory, ptr, info.limits.maxPages);
      if (isRefusal(checked)) return refuse(checked.message, checked.errno);
      const threads = epoll ? 1 : Math.min(info.threads, checked.pageCount);
      acceptControlBlock(instance.memory, checked, threads, info.mode, info.pid, WAITS_HOST);
      try {
        addon.attach(data.executor, sab, {
          gid: info.gid,
          pid: info.pid,
          name: info.name,
          ctrl: checked.ctrl,
          pagesPtr: checked.pagesPtr,
          pageCount: checked.pageCount,
          maskPages: checked.maskPages,
          pageMax: checked.pageMax,
          threads,
          maxFds: info.limits.maxFds,
          maxPending: info.limits.maxPending,
          listenAny: data.listenAny,
          connectRules: data.connectRules,
          strictLinks: data.strictLinks,
          grants: info.grants,
          stdio: here ? here.stdio : 'pipes',
          local: epoll,
        });
      } catch (err) {
        return refuse((err as Error).message, EINVAL);
      }
      layout = checked;
      if (epoll) local = addon.local(data.executor, info.gid);
      else handoff = new Handoff(new Int32Array(info.memory.buffer), checked, threads, info.mode === MODE_EXCEPTIONLESS, info.syncSpinUs, futex);
      post({ type: 'registered', gid: info.gid, layout: checked, threads, colocated: false });
      here?.registered(sab, checked.ctrl);
      return 0;
    },
    addPages(ptr, count) {
      // The native threads keep their own page table (addon: Guest::addPages checks every pointer);
      // the layout's, which makes the same checks, is kept in step for the statistics.
      if (!layout) return -EINVAL;
      const r = addon.addPages(data.executor, info.gid, ptr, count);
      if (r > 0) addPages(instance.memory, layout, ptr, count);
      return r;
    },
    syscall(entry) {
      if (local) local.syscall(entry);
      else handoff?.syscall(entry);
    },
    yield(entry) {
      if (local) return local.yield(entry);
      handoff?.syscall(entry);
      return 0;
    },
    shimCall(nr, a0, a1, a2, a3) {
      if (local) return local.shim(nr, a0, a1, a2, a3);
      return handoff ? handoff.shimCall(nr, a0, a1, a2, a3, FD_ROUTED.has(nr)) : null;
    },
    scratch() {
      return layout ? layout.ctrl + C_SHIM_SCRATCH : null;
    },
    writeDirect(fd, bytes) {
      post({ type: 'stdio', gid: info.gid, fd, data: bytes });
    },
    ready(detail) {
      post({ type: 'guest-ready', gid: info.gid, detail });
    },
    waits: here ? sleepingThrough(addon.imports(sab), here, info.memory) : addon.imports(sab),
  };
  // Imported only for the guests that need them (a worker starts sooner the less it loads).
  const { WasiProgram } = info.wasi && !info.component ? await import('../../wasi/wasi-program.js') : { WasiProgram: null };
  const { ComponentInstance } = info.component ? await import('../../wasi/preview2/component-instance.js') : { ComponentInstance: null };
  // An unmodified WASI program: the host registers pages on its behalf and serves preview 1 on them.
  const wasiProgram = WasiProgram && info.wasi
    ? new WasiProgram(info.wasi, info.args, info.env, (ctrl) => transport.register(ctrl), (entry) => transport.syscall(entry), futex)
    : undefined;
  // A preview 2 component: its wasi:* interfaces are served on a port the host registers for it.
  const instance = ComponentInstance && info.component && info.wasi
    ? new ComponentInstance(info.component, info.memory, info.wasi, info.args, info.env, (ctrl) => transport.register(ctrl), (entry) => transport.syscall(entry), futex)
    : new GuestInstance(info.module, info.memory, { name: info.name, args: info.args, env: info.env, memoryImport: info.memoryImport, ...(wasiProgram ? { wasiProgram } : {}) }, transport);
  const finish = (outcome: GuestOutcome & { kind: 'exit' }): void => {
    // Calls parked on this thread hold their descriptions: drop them before the host closes the table.
    local?.close();
    post({ type: 'exit', gid: info.gid, status: outcome.status, message: outcome.message, importCalls: instance.importCalls });
  };

  let stopping = false;
  // A guest on a worker hears its host's requests; one on the VM's thread gets them through `here`.
  if (!here) workerThreads().parentPort?.on('message', (m: ToGuestWorker) => {
    if (m.type !== 'kill' || !layout) return;
    // The guest's loop sees the shutdown word once it runs again (the wait below resumes it).
    Atomics.store(new Int32Array(info.memory.buffer), (layout.ctrl >> 2) + CW_SHUTDOWN, m.reason);
    stopping = true;
  });
  // epoll mode: the guest returned to wait for a parked call; wait for it here (this thread's own
  // epoll set), then resume the guest, looking at this worker's messages between bounded waits.
  const waitAndResume = (): void => {
    const done = local ? local.wait(LOCAL_WAIT_MS) : 0;
    if (done > 0 || stopping) {
      const next = instance.resume();
      if (next.kind === 'exit') return finish(next);
    }
    setImmediate(waitAndResume);
  };
  const outcome = here ? here.enter(() => instance.start()) : instance.start();
  if (outcome.kind === 'exit') finish(outcome);
  else if (local) setImmediate(waitAndResume);
  else post({ type: 'exit', gid: info.gid, status: 127, message: 'guest returned to the host to wait, which only the epoll mode allows', importCalls: instance.importCalls });
}

/** addon.wait's answers as flexvm.wait's numbers. */
const HANDOFF_RESULT = { ok: 0, 'not-equal': 1, 'timed-out': 2 } as const;

/** The guest's flexvm.wait through `here.sleep` (a guest on the VM's thread). */
function sleepingThrough(waits: NonNullable<GuestTransport['waits']>, here: ThisThreadGuest, memory: WebAssembly.Memory): NonNullable<GuestTransport['waits']> {
  let i32 = new Int32Array(memory.buffer);
  return {
    wait: (addr, expected, timeoutUs) => {
      // The memory may have grown since (a view keeps the length it was made with).
      if (i32.byteLength !== memory.buffer.byteLength) i32 = new Int32Array(memory.buffer);
      // A bad address is the guest's mistake: answered at once (-EFAULT), no sleep to look after.
      if (addr % 4 !== 0 || addr < 0 || addr + 4 > i32.byteLength) return waits.wait(addr, expected, timeoutUs);
      const view = i32;
      return here.sleep({ wait: (us) => waits.wait(addr, expected, us), word: () => Atomics.load(view, addr >> 2), expected }, timeoutUs);
    },
    wake: waits.wake,
  };
}
