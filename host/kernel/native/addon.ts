import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../cli/package-root.js';

/**
 * The native kernel's addon (native/src): syscall threads in C++ that execute the guests' calls as
 * real Linux system calls straight from their shared memory. Built by `npm install` (scripts/
 * build-native.mjs); FLEXVM_NATIVE_ADDON names another build (the AddressSanitizer one in tests).
 */
export interface NativeAddon {
  /** Starts `threads` native syscall threads; returns the executor's id. */
  createExecutor(threads: number, spinUs: number, maxSpinUs: number, trace: boolean): number;
  /** Joins the threads (parked calls are dropped). */
  destroyExecutor(id: number): void;
  /** Serves a registered guest; throws with the reason when its layout or grants are refused. */
  attach(id: number, memory: SharedArrayBuffer, options: NativeAttachOptions): number;
  /** Stops serving a guest and closes its descriptors: [submitted, completed] by system call number. */
  detach(id: number, gid: number): [Uint32Array, Uint32Array] | null;
  /** flexvm.add_pages for a guest: its new page count, or -errno (the C++ side checks every pointer). */
  addPages(id: number, gid: number, ptr: number, count: number): number;
  /** The host's ends of a guest attached with stdio 'pipes': [stdin write, stdout read, stderr read], once. */
  takeStdio(id: number, gid: number): [number, number, number] | null;
  /** Completed calls since the last take: 11 numbers each (pid, sysno, thread, flags, a0..a5, result). */
  takeTrace(id: number): number[];
  /** Atomics.wait and Atomics.notify on the kernel's futex (V8's own waits do not use it). */
  wait(memory: SharedArrayBuffer, addr: number, expected: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out';
  wake(memory: SharedArrayBuffer, addr: number): void;
  /** The guest's flexvm.wait and flexvm.wake imports, bound to its memory. */
  imports(memory: SharedArrayBuffer): { wait(addr: number, expected: number, timeoutUs: number): number; wake(addr: number): number };
  /** The epoll mode: a guest's calls on its own thread. */
  local(id: number, gid: number): NativeLocal;
  /** A close-on-exec pipe: [read end, write end]. */
  pipe(): [number, number];
  closeFd(fd: number): void;
  /**
   * Ctrl-C and SIGTERM taken by the addon until `close` (native/src/signal-watcher.cc): for a guest
   * that blocks the main thread (`flexvm run`, host/cli/main-thread-signals.ts). One at a time.
   */
  watchSignals(options: NativeSignalOptions): NativeSignalWatcher;
}

export interface NativeSignalOptions {
  /** After the first request, how long the guest has to end before it is forced to. */
  readonly graceMs: number;
  /** Written to standard error on the first request, and on the second (which forces the end). */
  readonly stopLine: string;
  readonly forceLine: string;
  /** A forced end (1: a second request, 2: the grace period is over) while no `run` is in progress. */
  readonly onForce: (kind: number) => void;
}

export interface NativeSignalWatcher {
  /** The guest registered: a stop request writes its shutdown word and wakes its completions word (at once if one came before). */
  guest(memory: SharedArrayBuffer, shutdownAddr: number, completionsAddr: number): void;
  /** Calls `fn`: true once it returned, false when a forced end stopped it (V8's TerminateExecution, cancelled here) or came before. */
  run(fn: () => void): boolean;
  /** Stop requests so far. */
  stops(): number;
  /** 0, or why the guest must end: 1 a second request, 2 the grace period is over. */
  forced(): number;
  /** The previous handlers back, the watcher's thread joined. */
  close(): void;
}

export interface NativeAttachOptions {
  readonly gid: number;
  readonly pid: number;
  readonly name: string;
  readonly ctrl: number;
  readonly pagesPtr: number;
  readonly pageCount: number;
  /** Pages the control block's masks are sized for, and the most pages in all (absent: pageCount, no growth). */
  readonly maskPages?: number;
  readonly pageMax?: number;
  readonly threads: number;
  readonly maxFds: number;
  readonly maxPending: number;
  readonly listenAny: boolean;
  /** The connect() allow-list as [net, prefix, port (-1: any)] triples (ConnectPolicy); absent: loopback only. */
  readonly connectRules?: readonly number[];
  /** Opening for writing a regular file with more than one link is EACCES (KernelOptions.strictLinks). */
  readonly strictLinks?: boolean;
  readonly grants: readonly { hostPath: string; guestPath: string; readOnly?: boolean }[];
  /** Host descriptors to duplicate as the guest's 0, 1, 2 (-1: none), or new pipes (takeStdio). */
  readonly stdio: readonly [number, number, number] | 'pipes';
  /** epoll mode: the calls run on the guest's thread (NativeLocal), the syscall threads leave it alone. */
  readonly local?: boolean;
}

export interface NativeLocal {
  syscall(entry: number): void;
  yield(entry: number): number;
  /** Waits up to `timeoutMs` for parked calls; the number completed. */
  wait(timeoutMs: number): number;
  parked(): number;
  shim(nr: number, a0: number, a1: number, a2: number, a3: number): number;
  /** The guest ended: drop its parked calls (their descriptors then close with its table). */
  close(): void;
}

let loaded: { addon: NativeAddon } | { reason: string } | undefined;

/** The addon, or why it is not available (said once by the CLI when it falls back to `os`). */
export function loadNativeAddon(): NativeAddon | string {
  if (!loaded) loaded = tryLoad();
  return 'addon' in loaded ? loaded.addon : loaded.reason;
}

/** Where the addon is (or would be): FLEXVM_NATIVE_ADDON, else the package's native build. */
export function nativeAddonPath(): string {
  return (addonPath ??= process.env.FLEXVM_NATIVE_ADDON || join(packageRoot(), 'native', 'build', 'Release', 'flexvm_native.node'));
}
let addonPath: string | undefined;

function tryLoad(): { addon: NativeAddon } | { reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `it needs Linux on x86-64 (this is ${process.platform}/${process.arch})` };
  const path = nativeAddonPath();
  if (!existsSync(path)) return { reason: `its addon is not built (${path} is missing: run npm run build:native)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (err) {
    return { reason: `its addon does not load: ${(err as Error).message}` };
  }
}
