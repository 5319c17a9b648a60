import { parseArgs } from 'node:util';
import type { Limits } from '../kernel/kernel.js';
import type { Mode } from '../vm/vm.js';
import { parseListen } from '../wasi/wasi-spawn.js';

/** A command-line mistake: reported with the usage hint and exit status 2. */
export class UsageError extends Error {}

export interface RunOptions {
  readonly guest: string | null;
  readonly guestArgs: readonly string[];
  readonly kernel: string;
  readonly syscallThreads: number;
  readonly mode: Mode;
  readonly dirs: readonly string[];
  /** WASI programs: listening sockets opened before they start (`--listen ADDR:PORT`). */
  readonly listen: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly with: readonly string[];
  readonly stats: boolean;
  readonly statsJson: string | null;
  readonly spinUs: number;
  readonly trace: boolean;
  readonly listenAny: boolean;
  /** The VM's limits per guest (--max-fds, --max-pending); absent: the defaults. */
  readonly limits: Partial<Limits>;
  /** --model PROFILE: count the main guest's instructions and model the run on that CPU profile. */
  readonly model: string | null;
  /** --model-requests N: what the run's counts are divided by (default 1: the whole run). */
  readonly modelRequests: number;
  /** --model-json FILE: the model's report as JSON. */
  readonly modelJson: string | null;
}

const KERNELS = ['native', 'os', 'virtual'];
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
        mapdir: { type: 'string', multiple: true },
        listen: { type: 'string', multiple: true },
        env: { type: 'string', multiple: true },
        with: { type: 'string', multiple: true },
        stats: { type: 'boolean' },
        'stats-json': { type: 'string' },
        'spin-us': { type: 'string' },
        trace: { type: 'boolean' },
        'listen-any': { type: 'boolean' },
        'max-fds': { type: 'string' },
        'max-pending': { type: 'string' },
        model: { type: 'string' },
        'model-requests': { type: 'string' },
        'model-json': { type: 'string' },
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
  if ((v['model-requests'] !== undefined || v['model-json'] !== undefined) && v.model === undefined) throw new UsageError('--model-requests and --model-json need --model PROFILE');
  const kernel = v.kernel ?? defaultKernel;
  if (!KERNELS.includes(kernel)) throw new UsageError(`unknown kernel ${JSON.stringify(kernel)} (choose: ${KERNELS.join(', ')})`);
  if (v['listen-any'] && kernel === 'virtual') throw new UsageError('--listen-any applies to the os and native kernels only');
  const mode = (v.mode ?? 'exceptionless') as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`unknown mode ${JSON.stringify(v.mode)} (choose: ${MODES.join(', ')})`);
  const env: Record<string, string> = {};
  for (const e of v.env ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw new UsageError(`--env expects KEY=VALUE, got ${JSON.stringify(e)}`);
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  // wasmer's --mapdir GUEST::HOST (or GUEST:HOST) is --dir HOST::GUEST.
  const mapped = (v.mapdir ?? []).map((m) => {
    const sep = m.includes('::') ? '::' : ':';
    const i = m.indexOf(sep);
    if (i <= 0 || i + sep.length >= m.length) throw new UsageError(`--mapdir expects GUEST::HOST, got ${JSON.stringify(m)}`);
    return `${m.slice(i + sep.length)}::${m.slice(0, i)}`;
  });
  for (const l of v.listen ?? []) {
    try {
      parseListen(l);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  for (const spec of v.dir ?? []) {
    const d = spec.endsWith(':ro') || spec.endsWith(':rw') ? spec.slice(0, -3) : spec;
    if (d.includes('::')) {
      if (d.startsWith('::') || d.endsWith('::')) throw new UsageError(`--dir expects HOST::GUEST, got ${JSON.stringify(spec)}`);
      continue;
    }
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
    dirs: [...(v.dir ?? []), ...mapped],
    listen: v.listen ?? [],
    env,
    with: v.with ?? [],
    stats: v.stats ?? false,
    statsJson: v['stats-json'] ?? null,
    spinUs: positiveInt('spin-us', v['spin-us'], 100, 0, 1_000_000),
    trace: v.trace ?? false,
    listenAny: v['listen-any'] ?? false,
    limits: limitsOf(v['max-fds'], v['max-pending']),
    model: v.model ?? null,
    modelRequests: positiveInt('model-requests', v['model-requests'], 1, 1, Number.MAX_SAFE_INTEGER),
    modelJson: v['model-json'] ?? null,
  };
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
