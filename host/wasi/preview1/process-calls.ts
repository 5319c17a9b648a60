import { SYS_getrandom, CLOCK_REALTIME, CLOCK_MONOTONIC } from '../../abi/v1.js';
import { GuestExit } from '../../errors.js';
import { E, CLOCK } from '../wasi-abi.js';
import { type WasiContext, type WasiFn, errno, OK } from './context.js';

const encoder = new TextEncoder();

/** Lays out a list of strings the WASI way: a pointer array and a buffer of NUL-terminated strings. */
function stringsGet(ctx: WasiContext, list: readonly string[], ptrs: number, buf: number): number {
  const m = ctx.mem();
  const encoded = list.map((s) => encoder.encode(s + '\0'));
  m.check(ptrs, list.length * 4);
  m.check(buf, encoded.reduce((n, b) => n + b.length, 0));
  let p = buf >>> 0;
  encoded.forEach((bytes, i) => {
    m.setU32(ptrs + i * 4, p);
    m.write(p, bytes);
    p += bytes.length;
  });
  return OK;
}

function stringsSizes(ctx: WasiContext, list: readonly string[], countPtr: number, sizePtr: number): number {
  const m = ctx.mem();
  m.check(countPtr, 4);
  m.check(sizePtr, 4);
  m.setU32(countPtr, list.length);
  m.setU32(sizePtr, list.reduce((n, s) => n + encoder.encode(s).length + 1, 0));
  return OK;
}

/** WASI signal numbers (witx `signal`) that end a process by default, as Linux signal numbers. */
function linuxSignal(sig: number): number {
  return sig < 16 ? sig : sig + 1; // WASI leaves out Linux's SIGSTKFLT (16)
}
/** Ignored by default: chld, cont, urg, winch. Stop signals: stop, tstp, ttin, ttou. */
const IGNORED = new Set([16, 17, 22, 27]);
const STOPPING = new Set([18, 19, 20, 21]);

/** Where CPU time is read: the host process (the guest thread's own CPU time is not exposed by Node 20). */
const cpuNanos = (): bigint => {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
};

export function processCalls(ctx: WasiContext): Record<string, WasiFn> {
  return {
    args_sizes_get: (c: number, s: number) => stringsSizes(ctx, ctx.args, c, s),
    args_get: (p: number, b: number) => stringsGet(ctx, ctx.args, p, b),
    environ_sizes_get: (c: number, s: number) => stringsSizes(ctx, ctx.env, c, s),
    environ_get: (p: number, b: number) => stringsGet(ctx, ctx.env, p, b),
    clock_res_get(id: number, out: number) {
      const m = ctx.mem();
      m.check(out, 8);
      if (id === CLOCK.REALTIME || id === CLOCK.MONOTONIC) m.view.setBigUint64(out >>> 0, 1n, true);
      else if (id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME) m.view.setBigUint64(out >>> 0, 1000n, true);
      else return E.INVAL;
      return OK;
    },
    clock_time_get(id: number, _precision: bigint, out: number) {
      const m = ctx.mem();
      m.check(out, 8);
      let ns: bigint;
      if (id === CLOCK.REALTIME || id === CLOCK.MONOTONIC) {
        const t = ctx.sys.clock(id === CLOCK.REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC);
        if (typeof t === 'number') return errno(t);
        ns = t;
      } else if (id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME) ns = cpuNanos();
      else return E.INVAL;
      m.view.setBigUint64(out >>> 0, ns, true);
      return OK;
    },
    random_get(buf: number, len: number) {
      const total = len >>> 0;
      ctx.mem().check(buf, total);
      for (let done = 0; done < total; ) {
        const r = ctx.sys.call(SYS_getrandom, -1, (buf >>> 0) + done, total - done, 0);
        if (r < 0) return errno(r);
        if (r === 0) return E.IO;
        done += r;
      }
      return OK;
    },
    proc_exit(code: number): number {
      throw new GuestExit(code >>> 0);
    },
    proc_raise(sig: number) {
      if (sig === 0) return OK;
      if (sig < 0 || sig > 30) return E.INVAL;
      if (IGNORED.has(sig)) return OK;
      if (STOPPING.has(sig)) return E.NOTSUP; // nothing here can stop and continue a program
      const s = linuxSignal(sig);
      throw new GuestExit(128 + s, `terminated by signal ${s}`);
    },
    sched_yield: () => OK,
  };
}
