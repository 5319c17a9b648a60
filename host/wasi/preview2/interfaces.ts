import { SYS_getrandom, CLOCK_REALTIME } from '../../abi/v1.js';
import { GuestExit } from '../../errors.js';
import type { P2Context } from './context.js';
import { filesystemInterfaces, type FilesystemInterfaces } from './filesystem.js';
import { ioInterfaces } from './io.js';

/** A jco import object: interface name (without version) to the functions and classes it exports. */
export type ImportObject = Record<string, Record<string, unknown>>;

/**
 * The `wasi:*` interfaces a component imports, all on flexvm's kernels: `wasi:cli` (arguments,
 * environment, standard streams, exit; no terminal), `wasi:clocks`, `wasi:random`, `wasi:io`
 * (streams and pollables) and `wasi:filesystem`. Each host call is one import call (a mode switch)
 * and every system call it needs is a syscall entry.
 */
export function preview2Interfaces(ctx: P2Context): { imports: ImportObject; fs: FilesystemInterfaces } {
  const io = ioInterfaces(ctx);
  const fs = filesystemInterfaces(ctx, io);
  const stdio = (kfd: number, out: boolean) => {
    ctx.begin();
    const target = { kfd, offset: null, alwaysReady: out };
    return out ? new io.OutputStream(target) : new io.InputStream(target);
  };
  const randomBytes = (len: bigint): Uint8Array => {
    ctx.begin();
    const total = Number(len);
    const out = new Uint8Array(total);
    for (let done = 0; done < total; ) {
      ctx.sys.reset();
      const n = Math.min(total - done, ctx.chunk);
      const buf = ctx.sys.alloc(n);
      const r = ctx.sys.call(SYS_getrandom, -1, buf, n, 0);
      if (r <= 0) throw new Error(`getrandom failed (errno ${-r})`);
      out.set(ctx.mem().bytes(buf, r), done);
      done += r;
    }
    return out;
  };
  const randomU64 = (): bigint => new DataView(randomBytes(8n).buffer).getBigUint64(0, true);
  const wallNow = () => {
    ctx.begin();
    const t = ctx.sys.clock(CLOCK_REALTIME);
    if (typeof t === 'number') throw new Error(`clock_gettime failed (errno ${-t})`);
    return { seconds: t / 1_000_000_000n, nanoseconds: Number(t % 1_000_000_000n) };
  };
  // The insecure seed is drawn once, from the kernel's random source (the virtual kernel's is seeded).
  let seed: [bigint, bigint] | null = null;
  const exitWith = (status: number): never => {
    throw new GuestExit(status);
  };
  class TerminalInput {}
  class TerminalOutput {}
  const imports: ImportObject = {
    'wasi:cli/environment': {
      getEnvironment: (): [string, string][] => {
        ctx.begin();
        return ctx.env.map((kv) => {
          const i = kv.indexOf('=');
          return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
        });
      },
      getArguments: (): string[] => {
        ctx.begin();
        return [...ctx.args];
      },
      initialCwd: (): string | undefined => {
        ctx.begin();
        return undefined;
      },
    },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => {
        ctx.begin();
        exitWith(status.tag === 'ok' ? 0 : 1);
      },
      exitWithCode: (code: number) => {
        ctx.begin();
        exitWith(code & 0xff);
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdio(0, false) },
    'wasi:cli/stdout': { getStdout: () => stdio(1, true) },
    'wasi:cli/stderr': { getStderr: () => stdio(2, true) },
    // flexvm's standard streams are pipes to the host, never a terminal.
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => (ctx.begin(), undefined) },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => (ctx.begin(), undefined) },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => (ctx.begin(), undefined) },
    'wasi:clocks/monotonic-clock': {
      now: (): bigint => {
        ctx.begin();
        return io.monotonicNow();
      },
      resolution: (): bigint => (ctx.begin(), 1n),
      subscribeInstant: (when: bigint) => (ctx.begin(), new io.Pollable({ kind: 'clock', deadline: when })),
      subscribeDuration: (d: bigint) => {
        ctx.begin();
        return new io.Pollable({ kind: 'clock', deadline: io.monotonicNow() + d });
      },
    },
    'wasi:clocks/wall-clock': {
      now: wallNow,
      resolution: () => (ctx.begin(), { seconds: 0n, nanoseconds: 1 }),
    },
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
    'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
    'wasi:random/insecure-seed': {
      insecureSeed: (): [bigint, bigint] => {
        seed ??= [randomU64(), randomU64()];
        return seed;
      },
    },
    'wasi:io/error': { Error: io.IoError },
    'wasi:io/poll': { Pollable: io.Pollable, poll: io.poll },
    'wasi:io/streams': { InputStream: io.InputStream, OutputStream: io.OutputStream },
    'wasi:filesystem/types': fs.types,
    'wasi:filesystem/preopens': fs.preopens,
  };
  return { imports, fs };
}
