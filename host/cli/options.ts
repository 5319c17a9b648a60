import { parseArgs } from 'node:util';
import { parseConnectRule } from '../kernel/common/connect-policy.js';
import { MAX_PAGES } from '../abi/v1.js';
import type { Grant, Limits } from '../kernel/kernel.js';
import { DirSpecError, parseDirSpec, parseMapdirSpec } from '../vm/grants.js';
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
  /** Checked grants: every host path exists and is a directory. */
  readonly dirs: readonly Grant[];
  /** WASI programs: listening sockets opened before they start (`--listen ADDR:PORT`). */
  readonly listen: readonly string[];
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
  /** --strict-links: no write access to a file with more than one link. */
  readonly strictLinks: boolean;
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

/** flexvm's own options for run and demo (node:util parseArgs's table). */
const OPTIONS = {
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
  'max-pages': { type: 'string' },
  'strict-links': { type: 'boolean' },
  'max-memory': { type: 'string' },
  'allow-connect': { type: 'string', multiple: true },
  model: { type: 'string' },
  'model-requests': { type: 'string' },
  'model-json': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Options that take a value as the next word (`--dir X`), so that word is not the module. */
const TAKES_VALUE = new Set(Object.entries(OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => `--${k}`));

/**
 * Splits the words after `run`/`demo` as wasmtime and wasmer do: flexvm's options, then the module,
 * then everything else, which belongs to the guest (`run x.wasm -- --help` gives the guest
 * `--help`; a `--` before the module ends flexvm's options too). The form documented until now,
 * `run GUEST.wasm [options] -- ARGS`, still works: when the words after the module up to a `--`
 * are all flexvm options, they are flexvm's, and the guest's arguments follow the `--`.
 */
export function splitRunArgs(argv: readonly string[], wantsGuest: boolean): { own: string[]; guest: string | null; guestArgs: string[] } {
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      // No module yet: for demo, the rest is the guest's; for run, the module comes next.
      if (!wantsGuest) return { own, guest: null, guestArgs: argv.slice(i + 1) };
      const [guest, ...rest] = argv.slice(i + 1);
      return { own, guest: guest ?? null, guestArgs: rest };
    }
    if (w.startsWith('-') && w !== '-') {
      own.push(w);
      if (TAKES_VALUE.has(w) && i + 1 < argv.length) own.push(argv[++i]!);
      continue;
    }
    if (!wantsGuest) {
      own.push(w); // reported as unexpected below
      continue;
    }
    let rest = argv.slice(i + 1);
    const dash = rest.indexOf('--');
    if (dash >= 0 && allFlexvmOptions(rest.slice(0, dash))) {
      own.push(...rest.slice(0, dash));
      rest = rest.slice(dash + 1);
    }
    return { own, guest: w, guestArgs: rest };
  }
  return { own, guest: null, guestArgs: [] };
}

/** Every word is one of flexvm's options or the value of the one before (the older form's options). */
function allFlexvmOptions(words: readonly string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const name = w.startsWith('--') ? w.slice(2).split('=')[0]! : w === '-h' ? 'help' : null;
    if (name === null || !(name in OPTIONS)) return false;
    if (TAKES_VALUE.has(w)) i++;
  }
  return true;
}

/** The run/demo words ask for flexvm's help (not the guest's: those come after the module). */
export function wantsHelp(argv: readonly string[], wantsGuest: boolean): boolean {
  const { own } = splitRunArgs(argv, wantsGuest);
  return own.includes('--help') || own.includes('-h');
}

/**
 * Parses `run`/`demo` arguments (see splitRunArgs). `defaultKernel` is `os` for `run` (guests
 * serve real ports and files) and `virtual` for `demo`. Every --dir and --mapdir is checked here,
 * before anything starts.
 */
export function parseRunOptions(argv: readonly string[], wantsGuest: boolean, defaultKernel = 'os'): RunOptions {
  const split = splitRunArgs(argv, wantsGuest);
  let parsed;
  try {
    parsed = parseArgs({ args: split.own, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (split.guest !== null) parsed.positionals.unshift(split.guest);
  const guestArgs = split.guestArgs;
  const v = parsed.values;
  const positionals = parsed.positionals;
  if (wantsGuest && positionals.length === 0) throw new UsageError('missing GUEST.wasm');
  if (positionals.length > (wantsGuest ? 1 : 0)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[wantsGuest ? 1 : 0])} (guest arguments go after the module, or after --)`);
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
    if (i === 0 || e.length === 0) throw new UsageError(`--env expects KEY=VALUE or KEY, got ${JSON.stringify(e)}`);
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    else if (process.env[e] !== undefined) env[e] = process.env[e]!; // KEY alone: this process's value, as wasmtime does
  }
  let dirs: Grant[];
  try {
    dirs = [...(v.dir ?? []).map((d) => parseDirSpec(d)), ...(v.mapdir ?? []).map((d) => parseMapdirSpec(d))];
  } catch (err) {
    if (err instanceof DirSpecError) throw new UsageError(err.message);
    throw err;
  }
  for (const l of v.listen ?? []) {
    try {
      parseListen(l);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return {
    guest: positionals[0] ?? null,
    guestArgs,
    kernel,
    syscallThreads: positiveInt('syscall-threads', v['syscall-threads'], 1, 1, 64),
    mode,
    dirs,
    listen: v.listen ?? [],
    env,
    with: v.with ?? [],
    stats: v.stats ?? false,
    statsJson: v['stats-json'] ?? null,
    spinUs: positiveInt('spin-us', v['spin-us'], 100, 0, 1_000_000),
    trace: v.trace ?? false,
    listenAny: v['listen-any'] ?? false,
    limits: { ...limitsOf(v['max-fds'], v['max-pending'], v['max-pages']), ...memoryLimitOf(v['max-memory']) },
    allowConnect: allowConnectOf(v['allow-connect'] ?? []),
    strictLinks: v['strict-links'] ?? false,
    model: v.model ?? null,
    modelRequests: positiveInt('model-requests', v['model-requests'], 1, 1, Number.MAX_SAFE_INTEGER),
    modelJson: v['model-json'] ?? null,
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
function limitsOf(maxFds: string | undefined, maxPending: string | undefined, maxPages: string | undefined): Partial<Limits> {
  return {
    ...(maxPages !== undefined ? { maxPages: positiveInt('max-pages', maxPages, 0, 1, MAX_PAGES) } : {}),
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
