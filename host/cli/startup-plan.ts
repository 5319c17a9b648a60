import { fstatSync } from 'node:fs';
import { loadNativeAddon, type NativeAddon } from '../kernel/native/addon.js';
import { parseRunOptions, type RunOptions } from './options.js';

/**
 * Whether `flexvm run` runs its guest on the main thread (docs/startup.md): one guest on the native
 * kernel, in a mode where it never returns to the host to wait (not epoll), without what needs the
 * main thread's event loop while it runs (--trace's collection) or a second pass over the module
 * (--model), and with standard output and error that are not sockets (the guest gets the host's
 * own: a supervisor's or a test harness's socket would be a socket to the guest, where on a worker
 * it writes to a pipe). FLEXVM_GUEST_THREAD=worker keeps it on a worker (bench/suites/startup.ts).
 */
export function runsOnMainThread(opts: Pick<RunOptions, 'kernel' | 'with' | 'trace' | 'mode' | 'model'>): boolean {
  if (process.env['FLEXVM_GUEST_THREAD'] === 'worker') return false;
  return opts.kernel === 'native' && opts.with.length === 0 && !opts.trace && opts.mode !== 'epoll' && opts.model === null && !isSocket(1) && !isSocket(2);
}

function isSocket(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/** What the CLI's entry (dist/cli.js) prepares before the rest of flexvm loads. */
export interface StartupPlan {
  /**
   * Compile guests with Liftoff: where every guest runs on the native kernel, whose guests sleep
   * through the addon's `flexvm.wait` (V8's own waits cannot be woken by native threads), so the
   * Wasm wait loop V8 11.3's Liftoff miscompiles never runs (host/vm/v8-flags.ts).
   */
  readonly liftoff: boolean;
  /** Start the first guest's worker ahead, with this guest runner (null: none), or not at all (false). */
  readonly spare: 'native' | null | false;
  /** `flexvm run` of one guest on the main thread (runsOnMainThread): the native addon, loaded. */
  readonly mainThread: NativeAddon | null;
}

/** The plan for `flexvm ARGV...`; a command line in error gets the default plan (main.js then says why). */
export function startupPlan(argv: readonly string[]): StartupPlan {
  const [command, ...rest] = argv;
  // demo runs the virtual kernel; kv the os kernel unless told otherwise (then main.js decides).
  if (command === 'demo' || command === 'kv') return { liftoff: false, spare: null, mainThread: null };
  if (command !== 'run') return { liftoff: false, spare: false, mainThread: null };
  const addon = loadNativeAddon();
  const native = typeof addon !== 'string';
  let opts: RunOptions;
  try {
    opts = parseRunOptions(rest, true, native ? 'native' : 'os');
  } catch {
    return { liftoff: false, spare: false, mainThread: null };
  }
  if (opts.kernel !== 'native' || typeof addon === 'string') return { liftoff: false, spare: null, mainThread: null };
  const here = runsOnMainThread(opts);
  return { liftoff: true, spare: here ? false : 'native', mainThread: here ? addon : null };
}
