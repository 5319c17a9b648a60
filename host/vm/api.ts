import { MODE_EPOLL, MODE_EXCEPTIONLESS, MODE_SYNC } from '../abi/v1.js';
import type { Grant, Limits } from '../kernel/kernel.js';
import type { KnownKernelOptions } from '../kernel/registry.js';
import type { GuestStats } from './stats.js';

/**
 * How a guest's system calls reach the kernel: `exceptionless` (posted to syscall pages, the default),
 * `sync` (a blocking hand-off per call) or `epoll` (the guest runs beside its kernel, readiness by epoll).
 */
export type Mode = 'exceptionless' | 'sync' | 'epoll';
/** The ABI's number for each mode. */
export const MODES: Record<Mode, number> = { exceptionless: MODE_EXCEPTIONLESS, sync: MODE_SYNC, epoll: MODE_EPOLL };

/** Options of `VM.create`. */
export interface VMOptions {
  /** `virtual` (default), `os`, `native` (real system calls by native threads), or a kernel with its options (`kind` may be an embedder's kernel module URL). */
  kernel?: 'virtual' | 'os' | 'native' | KnownKernelOptions;
  /** Syscall threads, 1 to 64 (default 1). */
  syscallThreads?: number;
  /** Default mode of the guests (default exceptionless). */
  mode?: Mode;
  /** Idle polling of a syscall thread before it sleeps, in µs (default 100). */
  spinUs?: number;
  /** How long a blocking hand-off spins before it sleeps, in µs (default 20). */
  syncSpinUs?: number;
  /**
   * Per-guest limits: `maxFds` (past it -EMFILE) and `maxPending` calls in flight (past it -EAGAIN), 65,536 each
   * by default; `maxMemory`; `maxPages` syscall pages, those added at run time included (1,024 by default).
   */
  limits?: Partial<Limits>;
  /** Diagnostics from the runtime (default: standard error). */
  log?: (message: string) => void;
  /** Receives one line per completed system call, like strace (default: none). */
  trace?: (line: string) => void;
}

/** Takes a guest's output; a returned promise holds the bytes as queued until it settles. */
export type StdioSink = (data: Uint8Array) => unknown;

/** A sink into a Node stream that settles once the stream has flushed the bytes (its back-pressure). */
export function streamSink(stream: NodeJS.WritableStream): StdioSink {
  return (d) => new Promise<void>((resolve) => stream.write(d, () => resolve()));
}

/** Options of `vm.spawn` and `vm.run`. */
export interface SpawnOptions {
  /** argv[1..]; argv[0] is the guest's name. */
  args?: readonly string[];
  /** Environment variables the guest sees through WASI (default: none). */
  env?: Readonly<Record<string, string>>;
  /**
   * Host directories to make visible: grants, or strings as `flexvm run --dir` spells them
   * (`HOST[:GUEST][:ro]`, `HOST::GUEST[:ro]`). The guest sees nothing else of the host's files.
   */
  dirs?: readonly (string | Grant)[];
  /**
   * Descriptor 0: bytes readable, then end of file; or a stream (`process.stdin`, any Readable) the
   * guest reads as it arrives: a read waits while nothing has arrived, poll and epoll see it
   * readable when something has, and end of file follows the stream's end. The VM starts reading
   * the stream when the guest first asks for input (the native kernel: at once) and pauses it while
   * 64 KiB wait unread, so a guest that does not read never makes the host buffer without bound.
   * The stream is let go of (paused, not destroyed) when the guest ends. Default: end of file at once.
   */
  stdin?: string | Uint8Array | NodeJS.ReadableStream;
  /**
   * Receives the guest's standard output (default: this process's, with its back-pressure). A sink
   * may return a promise: until it settles the bytes count as queued, and a guest with
   * STDIO_QUEUE_LIMIT bytes queued on a stream waits to write more, as on a full pipe.
   */
  stdout?: StdioSink;
  /** Receives the guest's standard error (default: this process's); as stdout. */
  stderr?: StdioSink;
  /** This guest's mode (default: the VM's). */
  mode?: Mode;
  /** The name in messages and statistics, and argv[0] (default: the file's name without `.wasm`). */
  name?: string;
  /** WASI programs: listening TCP sockets opened for it before it starts (`ADDR:PORT`), fds 3 and up. */
  listen?: readonly string[];
}

/** How a guest ended (`guest.exited`, `vm.run`). */
export interface GuestResult {
  /** The guest's process id (getpid). */
  readonly pid: number;
  /** Its name (SpawnOptions.name). */
  readonly name: string;
  /**
   * Exit status: the guest's own; 130 if stopped by the host; 134 if it trapped; 127 if it could not
   * be linked; 137 if its thread was terminated (it did not stop within the grace period).
   */
  readonly status: number;
  /** Why it ended, when it did not simply exit (a trap, a refused registration, a link error). */
  readonly message?: string;
  /** What its system calls did (docs/embedding.md lists the fields). */
  readonly stats: GuestStats;
  /** Counters of an instrumented guest (exported `flexvm_probe:` globals), when it has any. */
  readonly probes?: Readonly<Record<string, number>>;
}

/** A running guest. */
export interface Guest {
  /** The guest's process id (getpid). */
  readonly pid: number;
  /** Its name in messages and statistics. */
  readonly name: string;
  /** Settles once, when the guest has ended and its statistics are collected. */
  readonly exited: Promise<GuestResult>;
  /**
   * Resolves with the text the guest passed to libflexsc's `ready()` (the example servers pass the
   * address they listen on, `127.0.0.1:PORT`), the first time it calls it. Rejects if the guest ends
   * first. A guest that never calls `ready()` leaves it pending until it ends.
   */
  readonly ready: Promise<string>;
  /**
   * Asks the guest to stop: its loop returns 130, or runs its libflexsc `onShutdown` handler and
   * ends when its work is done. After `graceMs` (default 2000) its thread is terminated (137).
   */
  kill(graceMs?: number): void;
}
