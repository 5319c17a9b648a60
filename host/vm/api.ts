import { MODE_EPOLL, MODE_EXCEPTIONLESS, MODE_SYNC } from '../abi/v1.js';
import type { Grant, KernelOptions, Limits } from '../kernel/kernel.js';
import type { GuestStats } from './stats.js';

export type Mode = 'exceptionless' | 'sync' | 'epoll';
export const MODES: Record<Mode, number> = { exceptionless: MODE_EXCEPTIONLESS, sync: MODE_SYNC, epoll: MODE_EPOLL };

export interface VMOptions {
  /** `virtual` (default), `os`, or kernel options (`kind` may be an embedder's kernel module URL). */
  kernel?: 'virtual' | 'os' | KernelOptions;
  /** Syscall threads (default 1). */
  syscallThreads?: number;
  /** Default mode of the guests (default exceptionless). */
  mode?: Mode;
  /** Idle polling of a syscall thread before it sleeps, in µs (default 100). */
  spinUs?: number;
  /** How long a blocking hand-off spins before it sleeps, in µs (default 20). */
  syncSpinUs?: number;
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

export interface SpawnOptions {
  /** argv[1..]; argv[0] is the guest's name. */
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Host directories to make visible: `HOST[:GUEST]` strings or grants. */
  dirs?: readonly (string | Grant)[];
  stdin?: string | Uint8Array;
  /**
   * Where the guest's standard output and error go (default: this process's, with its
   * back-pressure). A sink may return a promise: until it settles the bytes count as queued, and a
   * guest with STDIO_QUEUE_LIMIT bytes queued on a stream waits to write more, as on a full pipe.
   */
  stdout?: StdioSink;
  stderr?: StdioSink;
  mode?: Mode;
  name?: string;
}

export interface GuestResult {
  readonly pid: number;
  readonly name: string;
  /** Exit status: the guest's own, 130 if stopped by the host, 134 if it trapped. */
  readonly status: number;
  /** Why it ended, when it did not simply exit (a trap, a refused registration, a link error). */
  readonly message?: string;
  readonly stats: GuestStats;
}

/** A running guest. */
export interface Guest {
  readonly pid: number;
  readonly name: string;
  readonly exited: Promise<GuestResult>;
  /** Asks the guest to stop (its loop returns 130); after `graceMs` its thread is terminated. */
  kill(graceMs?: number): void;
}
