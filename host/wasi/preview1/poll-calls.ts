import { SYS_poll, SYS_clock_nanosleep, SYS_fstat, SYS_lseek, CLOCK_REALTIME, CLOCK_MONOTONIC, POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL, SEEK_CUR, STAT_SIZE, STAT_ST_SIZE } from '../../abi/v1.js';
import { E, R, EVENTTYPE, SUBCLOCK_ABSTIME, EVENTRW_HANGUP, SUBSCRIPTION, EVENT, CLOCK, FILETYPE } from '../wasi-abi.js';
import { type WasiContext, type WasiFn, errno, isErr, OK } from './context.js';

interface Ev {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
  flags: number;
}

const NS_PER_MS = 1_000_000n;

/**
 * poll_oneoff: clock subscriptions become one timeout (or one clock_nanosleep when there is nothing
 * else to wait for), descriptor subscriptions one Linux `poll` over all of them: a single entry
 * however many subscriptions there are. Subscriptions that fail on their own (a bad descriptor, a
 * missing right, an unknown clock) are reported as events at once, without waiting.
 */
export function pollCalls(ctx: WasiContext): Record<string, WasiFn> {
  return {
    poll_oneoff(inPtr: number, outPtr: number, n: number, neventsPtr: number) {
      const m = ctx.mem();
      const count = n >>> 0;
      if (count === 0) return E.INVAL;
      m.check(inPtr, count * SUBSCRIPTION.SIZEOF);
      m.check(outPtr, count * EVENT.SIZEOF);
      m.check(neventsPtr, 4);
      const v = m.view;
      const events: Ev[] = [];
      const clocks: { userdata: bigint; deadline: bigint }[] = [];
      const fds: { userdata: bigint; type: number; kfd: number; regular: boolean }[] = [];
      for (let i = 0; i < count; i++) {
        const s = (inPtr >>> 0) + i * SUBSCRIPTION.SIZEOF;
        const userdata = v.getBigUint64(s + SUBSCRIPTION.USERDATA, true);
        const tag = v.getUint8(s + SUBSCRIPTION.TAG);
        if (tag === EVENTTYPE.CLOCK) {
          const id = v.getUint32(s + SUBSCRIPTION.CLOCK_ID, true);
          const timeout = v.getBigUint64(s + SUBSCRIPTION.CLOCK_TIMEOUT, true);
          const flags = v.getUint16(s + SUBSCRIPTION.CLOCK_FLAGS, true);
          if (id !== CLOCK.REALTIME && id !== CLOCK.MONOTONIC) {
            events.push({ userdata, error: E.INVAL, type: tag, nbytes: 0n, flags: 0 });
            continue;
          }
          let rel = timeout;
          if (flags & SUBCLOCK_ABSTIME) {
            const t = ctx.sys.clock(id === CLOCK.REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC);
            if (typeof t === 'number') return errno(t);
            rel = timeout > t ? timeout - t : 0n;
          }
          clocks.push({ userdata, deadline: rel });
        } else if (tag === EVENTTYPE.FD_READ || tag === EVENTTYPE.FD_WRITE) {
          const fd = v.getUint32(s + SUBSCRIPTION.FD, true);
          const f = ctx.fds.check(fd, R.POLL_FD_READWRITE);
          if (isErr(f)) {
            events.push({ userdata, error: f, type: tag, nbytes: 0n, flags: 0 });
            continue;
          }
          fds.push({ userdata, type: tag, kfd: f.kfd, regular: f.filetype === FILETYPE.REGULAR_FILE });
        } else return E.INVAL;
      }
      const earliest = clocks.reduce<bigint | null>((a, c) => (a === null || c.deadline < a ? c.deadline : a), null);
      if (events.length === 0) {
        if (fds.length === 0) {
          // Only clocks: sleep exactly (nanoseconds) until the earliest.
          if (earliest! > 0n) {
            const ts = ctx.sys.alloc(16);
            m.view.setBigInt64(ts, earliest! / 1_000_000_000n, true);
            m.view.setBigInt64(ts + 8, earliest! % 1_000_000_000n, true);
            const r = ctx.sys.call(SYS_clock_nanosleep, -1, CLOCK_MONOTONIC, 0, ts, 0);
            if (r < 0) return errno(r);
          }
        } else {
          const pfds = ctx.sys.alloc(fds.length * 8);
          fds.forEach((f, i) => {
            m.view.setInt32(pfds + i * 8, f.kfd, true);
            m.view.setInt16(pfds + i * 8 + 4, f.type === EVENTTYPE.FD_READ ? POLLIN : POLLOUT, true);
            m.view.setInt16(pfds + i * 8 + 6, 0, true);
          });
          const timeoutMs = earliest === null ? -1 : Number((earliest + NS_PER_MS - 1n) / NS_PER_MS);
          const r = ctx.sys.call(SYS_poll, fds[0]!.kfd, pfds, fds.length, Math.min(timeoutMs, 0x7fffffff));
          if (r < 0) return errno(r);
          fds.forEach((f, i) => {
            const revents = m.view.getInt16(pfds + i * 8 + 6, true);
            if (revents === 0) return;
            const ev: Ev = { userdata: f.userdata, error: 0, type: f.type, nbytes: 0n, flags: 0 };
            if (revents & POLLNVAL) ev.error = E.BADF;
            else if (revents & POLLERR) ev.error = E.IO;
            if (revents & POLLHUP) ev.flags |= EVENTRW_HANGUP;
            if (f.regular && f.type === EVENTTYPE.FD_READ && ev.error === 0) ev.nbytes = remaining(ctx, f.kfd);
            events.push(ev);
          });
          if (r > 0) return finish(ctx, events, outPtr, neventsPtr);
        }
        // The wait ended by time: the clocks that are due (the earliest, and any equal to it).
        for (const c of clocks) if (c.deadline === earliest) events.push({ userdata: c.userdata, error: 0, type: EVENTTYPE.CLOCK, nbytes: 0n, flags: 0 });
      }
      return finish(ctx, events, outPtr, neventsPtr);
    },
  };
}

/** Bytes left to read in a regular file (fstat size less the position): two calls in one batch. */
function remaining(ctx: WasiContext, kfd: number): bigint {
  const st = ctx.sys.alloc(STAT_SIZE);
  const [s, pos] = ctx.sys.run([
    { nr: SYS_fstat, fd: kfd, args: [kfd, st] },
    { nr: SYS_lseek, fd: kfd, args: [kfd, 0, 0, SEEK_CUR] },
  ]);
  if (s! < 0 || pos! < 0) return 0n;
  const size = ctx.mem().view.getBigInt64(st + STAT_ST_SIZE, true);
  return size > BigInt(pos!) ? size - BigInt(pos!) : 0n;
}

function finish(ctx: WasiContext, events: Ev[], outPtr: number, neventsPtr: number): number {
  const m = ctx.mem();
  events.forEach((e, i) => {
    const at = (outPtr >>> 0) + i * EVENT.SIZEOF;
    m.fill(at, EVENT.SIZEOF);
    m.view.setBigUint64(at + EVENT.USERDATA, e.userdata, true);
    m.view.setUint16(at + EVENT.ERROR, e.error, true);
    m.view.setUint8(at + EVENT.TYPE, e.type);
    m.view.setBigUint64(at + EVENT.NBYTES, e.nbytes, true);
    m.view.setUint16(at + EVENT.FLAGS, e.flags, true);
  });
  m.setU32(neventsPtr, events.length);
  return OK;
}
