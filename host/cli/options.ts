import { parseArgs } from 'node:util';
import { parseConnectRule } from '../kernel/common/connect-policy.js';
import type { Limits } from '../kernel/kernel.js';
import type { Mode } from '../vm/vm.js';

/** A command-line mistake: reported with the usage hint and exit status 2. */
export class UsageError extends Error {}

export interface RunOptions {
  readonly guest: string | null;
  readonly guestArgs: readonly string[];
  readonly kernel: string;
  readonly syscallThreads: number;
  readonly mode: Mode;
  readonly dirs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly with: readonly string[];
  readonly stats: boolean;
  readonly statsJson: string | null;
  readonly spinUs: number;
  readonly trace: boolean;
  readonly listenAny: boolean;
  /** The VM's limits per guest (--max-fds, --max-pending, --max-memory); absent: the defaults. */
  readonly limits: Partial<Limits>;
  /** Addresses guests may connect() to (--allow-connect, repeatable); empty: loopback only. */
  readonly allowConnect: readonly string[];
}

const KERNELS = ['os', 'virtual'];
/** Upper bound of --max-fds and --max-pending: Linux's fs.nr_open default, the most RLIMIT_NOFILE can be. */
const MAX_LIMIT = 1 << 20;
const MODES: readonly Mode[] = ['exceptionless', 'sync', 'epoll'];

function positiveInt(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Parses `run`/`demo` arguments; everything after `--` belongs to the guest. `defaultKernel` is
 * `os` for `run` (guests serve real ports and files) and `virtual` for `demo`.
 */
export function parseRunOptions(argv: readonly string[], wantsGuest: boolean, defaultKernel = 'os'): RunOptions {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const guestArgs = dash < 0 ? [] : argv.slice(dash + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...own],
      allowPositionals: true,
      strict: true,
      options: {
        kernel: { type: 'string' },
        'syscall-threads': { type: 'string' },
        mode: { type: 'string' },
        dir: { type: 'string', multiple: true },
        env: { type: 'string', multiple: true },
        with: { type: 'string', multiple: true },
        stats: { type: 'boolean' },
        'stats-json': { type: 'string' },
        'spin-us': { type: 'string' },
        trace: { type: 'boolean' },
        'listen-any': { type: 'boolean' },
        'max-fds': { type: 'string' },
        'max-pending': { type: 'string' },
        'max-memory': { type: 'string' },
        'allow-connect': { type: 'string', multiple: true },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const positionals = parsed.positionals;
  if (wantsGuest && positionals.length === 0) throw new UsageError('missing GUEST.wasm');
  if (positionals.length > (wantsGuest ? 1 : 0)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[wantsGuest ? 1 : 0])} (guest arguments go after --)`);
  }
  const kernel = v.kernel ?? defaultKernel;
  if (!KERNELS.includes(kernel)) throw new UsageError(`unknown kernel ${JSON.stringify(kernel)} (choose: ${KERNELS.join(', ')})`);
  if (v['listen-any'] && kernel !== 'os') throw new UsageError('--listen-any applies to the os kernel only');
  const mode = (v.mode ?? 'exceptionless') as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`unknown mode ${JSON.stringify(v.mode)} (choose: ${MODES.join(', ')})`);
  const env: Record<string, string> = {};
  for (const e of v.env ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw new UsageError(`--env expects KEY=VALUE, got ${JSON.stringify(e)}`);
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  for (const spec of v.dir ?? []) {
    const d = spec.endsWith(':ro') || spec.endsWith(':rw') ? spec.slice(0, -3) : spec;
    const i = d.indexOf(':');
    if (i === 0 || d.length === 0) throw new UsageError(`--dir expects HOST[:GUEST][:ro], got ${JSON.stringify(spec)}`);
    if (i > 0 && !d.slice(i + 1).startsWith('/')) throw new UsageError(`--dir ${JSON.stringify(spec)}: the guest path must be absolute`);
  }
  return {
    guest: positionals[0] ?? null,
    guestArgs,
    kernel,
    syscallThreads: positiveInt('syscall-threads', v['syscall-threads'], 1, 1, 64),
    mode,
    dirs: v.dir ?? [],
    env,
    with: v.with ?? [],
    stats: v.stats ?? false,
    statsJson: v['stats-json'] ?? null,
    spinUs: positiveInt('spin-us', v['spin-us'], 100, 0, 1_000_000),
    trace: v.trace ?? false,
    listenAny: v['listen-any'] ?? false,
    limits: { ...limitsOf(v['max-fds'], v['max-pending']), ...memoryLimitOf(v['max-memory']) },
    allowConnect: allowConnectOf(v['allow-connect'] ?? []),
  };
}

/** --allow-connect rules, checked here so that a typo is a usage error, not a guest that cannot connect. */
function allowConnectOf(specs: readonly string[]): string[] {
  if (specs.includes('none')) {
    if (specs.length > 1) throw new UsageError('--allow-connect none allows nothing: give it alone');
    return ['none'];
  }
  for (const spec of specs) {
    try {
      parseConnectRule(spec);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return [...specs];
}

/** --max-memory SIZE: bytes, or with K, M or G (binary units); 64K to 4G, rounded down to 64 KiB pages. */
function memoryLimitOf(value: string | undefined): Partial<Limits> {
  if (value === undefined) return {};
  const m = /^(\d+)([KMG])?(?:i?B)?$/i.exec(value);
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m?.[2] ?? '').toUpperCase() as 'K' | 'M' | 'G'] ?? 1;
  const bytes = m ? Number(m[1]) * unit : NaN;
  if (!(bytes >= 65536 && bytes <= 4 * 1024 ** 3)) throw new UsageError(`--max-memory must be a size from 64K to 4G (e.g. 256M), got ${JSON.stringify(value)}`);
  return { maxMemory: Math.floor(bytes / 65536) * 65536 };
}

/** Only the limits given on the command line: the VM fills in the rest from DEFAULT_LIMITS. */
function limitsOf(maxFds: string | undefined, maxPending: string | undefined): Partial<Limits> {
  return {
    ...(maxFds !== undefined ? { maxFds: positiveInt('max-fds', maxFds, 0, 1, MAX_LIMIT) } : {}),
    ...(maxPending !== undefined ? { maxPending: positiveInt('max-pending', maxPending, 0, 1, MAX_LIMIT) } : {}),
  };
}

/** Splits a `--with` value into the guest file and its arguments (whitespace-separated). */
export function splitCommand(command: string): [string, string[]] {
  const words = command.trim().split(/\s+/).filter(Boolean);
  if (!words.length) throw new UsageError('--with needs a guest file');
  return [words[0]!, words.slice(1)];
}
