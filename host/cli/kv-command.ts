import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import { parseRunOptions, UsageError, type RunOptions } from './options.js';
import { runGuests } from './run-command.js';

/** flexvm's own options that `flexvm kv` takes before memcached's (each with a value unless listed). */
const FLEXVM_OPTIONS = new Set(['--kernel', '--mode', '--syscall-threads', '--spin-us', '--max-fds', '--max-pending', '--max-pages', '--stats-json']);
const FLEXVM_FLAGS = new Set(['--stats', '--trace']);

export interface KvCommand {
  readonly run: RunOptions;
  readonly guestArgs: readonly string[];
}

/** The value of memcached's option `short`/`long` in `args` (last one wins), or null. */
function memcachedOption(args: readonly string[], short: string, long: string): string | null {
  let found: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `-${short}` || a === `--${long}`) found = args[i + 1] ?? null;
    else if (a.startsWith(`--${long}=`)) found = a.slice(long.length + 3);
    else if (a.startsWith(`-${short}`) && !a.startsWith('--') && a.length > 2) found = a.slice(2);
  }
  return found;
}

/**
 * `flexvm kv [flexvm options] [memcached options]`: the kv example guest with memcached's command
 * line, so a script that starts memcached can start this instead. memcached's -t sets the syscall
 * threads (unless --syscall-threads does), and an -l address other than loopback lets the os
 * kernel listen there (--listen-any).
 */
export function parseKvCommand(argv: readonly string[]): KvCommand {
  const own: string[] = [];
  const guestArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (FLEXVM_OPTIONS.has(name)) {
      own.push(a);
      if (!a.includes('=')) {
        if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
        own.push(argv[++i]!);
      }
    } else if (FLEXVM_FLAGS.has(a)) own.push(a);
    else guestArgs.push(a);
  }
  const threads = memcachedOption(guestArgs, 't', 'threads');
  if (threads !== null && !own.some((a) => a.startsWith('--syscall-threads'))) {
    const n = Number(threads);
    // memcached's default is 4 worker threads; here they become syscall threads (1-64).
    if (/^\d+$/.test(threads) && n >= 1) own.push('--syscall-threads', String(Math.min(n, 64)));
  }
  const listen = memcachedOption(guestArgs, 'l', 'listen');
  const kernel = own[own.indexOf('--kernel') + 1];
  if (listen !== null && !/^(127\.\d+\.\d+\.\d+|localhost)$/.test(listen) && (own.indexOf('--kernel') < 0 || kernel === 'os')) own.push('--listen-any');
  // flexvm's options before the module: everything after it would be the guest's.
  const run = parseRunOptions([...own, join(packageRoot(), 'examples/kv/server.wasm')], true);
  return { run, guestArgs };
}

export async function runKv(argv: readonly string[]): Promise<number> {
  const { run, guestArgs } = parseKvCommand(argv);
  return runGuests({ file: run.guest!, args: guestArgs }, run);
}
