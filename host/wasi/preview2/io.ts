import {
  SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_poll, SYS_clock_nanosleep, SYS_fstat, CLOCK_MONOTONIC, POLLIN,
  POLLOUT, STAT_SIZE, STAT_ST_SIZE,
} from '../../abi/v1.js';
import type { P2Context } from './context.js';
import { IoError, streamFailure } from './errors.js';

/** jco calls a resource's dispose when the component drops its handle. */
export const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

/** What a pollable waits for: nothing (always ready), a monotonic deadline, or a descriptor. */
export type Readiness = { kind: 'ready' } | { kind: 'clock'; deadline: bigint } | { kind: 'fd'; kfd: number; events: number };

const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/**
 * Where a stream's bytes go or come from: a kernel descriptor, read or written at its own
 * position (pipes, sockets, the standard streams) or at an offset the stream advances (files).
 */
export interface StreamTarget {
  readonly kfd: number;
  offset: bigint | null;
  /** Append: each write goes to the file's end (the offset is the size at that moment). */
  readonly append?: boolean;
  /** Reads never wait (a regular file): the pollable is always ready. */
  readonly alwaysReady: boolean;
}

export interface PollableLike {
  readonly what: Readiness;
  ready(): boolean;
  block(): void;
}

/** The `wasi:io` resources of one component (classes made per component: jco checks handles by class). */
export interface IoInterfaces {
  readonly Pollable: new (what: Readiness) => PollableLike;
  readonly InputStream: new (t: StreamTarget) => { read(len: bigint): Uint8Array; blockingRead(len: bigint): Uint8Array };
  readonly OutputStream: new (t: StreamTarget) => { write(contents: Uint8Array): void; blockingWriteAndFlush(contents: Uint8Array): void };
  poll(list: PollableLike[]): Uint32Array;
  /** Indices of the ready ones, waiting at most `waitNs` (null: until one is). */
  pollReady(list: readonly PollableLike[], waitNs: bigint | null): number[];
  monotonicNow(): bigint;
  readonly IoError: typeof IoError;
}

/** The `wasi:io` resources of one component, over its kernel calls. */
export function ioInterfaces(ctx: P2Context): IoInterfaces {
  const monotonicNow = (): bigint => {
    const t = ctx.sys.clock(CLOCK_MONOTONIC);
    if (typeof t === 'number') throw new Error(`clock_gettime failed (errno ${-t})`);
    return t;
  };

  class Pollable {
    constructor(readonly what: Readiness) {}

    ready(): boolean {
      ctx.begin();
      return pollReady([this], 0n)[0] === 0;
    }

    block(): void {
      ctx.begin();
      pollReady([this], null);
    }
  }

  /**
   * Which pollables are ready, waiting at most `waitNs` (null: until one is). Descriptors are asked
   * in one Linux `poll` whose timeout is the earliest clock; clocks alone are one clock_nanosleep.
   */
  function pollReady(list: readonly PollableLike[], waitNs: bigint | null): number[] {
    for (;;) {
      ctx.sys.reset();
      const ready: number[] = [];
      const fds: { i: number; kfd: number; events: number }[] = [];
      let earliest: bigint | null = null;
      let now: bigint | null = null;
      list.forEach((p, i) => {
        const w = p.what;
        if (w.kind === 'ready') ready.push(i);
        else if (w.kind === 'fd') fds.push({ i, kfd: w.kfd, events: w.events });
        else {
          now ??= monotonicNow();
          if (w.deadline <= now) ready.push(i);
          else if (earliest === null || w.deadline - now < earliest) earliest = w.deadline - now;
        }
      });
      let timeout: bigint | null = ready.length > 0 ? 0n : earliest;
      if (waitNs !== null && (timeout === null || waitNs < timeout)) timeout = waitNs;
      if (fds.length > 0) {
        const m = ctx.mem();
        const pfds = ctx.sys.alloc(fds.length * 8);
        fds.forEach((f, k) => {
          m.view.setInt32(pfds + k * 8, f.kfd, true);
          m.view.setInt16(pfds + k * 8 + 4, f.events, true);
          m.view.setInt16(pfds + k * 8 + 6, 0, true);
        });
        const ms = timeout === null ? -1 : Number((timeout + 999_999n) / 1_000_000n);
        const r = ctx.sys.call(SYS_poll, fds[0]!.kfd, pfds, fds.length, Math.min(ms, 0x7fffffff));
        if (r < 0) throw new Error(`poll failed (errno ${-r})`);
        fds.forEach((f, k) => {
          if (m.view.getInt16(pfds + k * 8 + 6, true) !== 0) ready.push(f.i);
        });
      } else if (ready.length === 0 && timeout !== null && timeout > 0n) {
        const ts = ctx.sys.alloc(16);
        ctx.mem().view.setBigInt64(ts, timeout / 1_000_000_000n, true);
        ctx.mem().view.setBigInt64(ts + 8, timeout % 1_000_000_000n, true);
        const r = ctx.sys.call(SYS_clock_nanosleep, -1, CLOCK_MONOTONIC, 0, ts, 0);
        if (r < 0) throw new Error(`clock_nanosleep failed (errno ${-r})`);
      }
      if (ready.length > 0 || waitNs !== null) return ready.sort((a, b) => a - b);
      if (fds.length === 0 && earliest === null) throw new Error('poll of nothing that can become ready');
    }
  }

  /** `wasi:io/poll.poll`: waits until at least one is ready; their indices. */
  function poll(list: PollableLike[]): Uint32Array {
    ctx.begin();
    if (list.length === 0) throw new Error('poll of an empty list traps (wasi:io/poll)');
    return new Uint32Array(pollReady(list, null));
  }

  class InputStream {
    private closed = false;

    constructor(private readonly t: StreamTarget) {}

    private readSome(len: bigint): Uint8Array {
      if (this.closed) throw { tag: 'closed' };
      const n = Number(len > BigInt(ctx.chunk) ? BigInt(ctx.chunk) : len);
      if (n === 0) return new Uint8Array(0);
      const buf = ctx.sys.alloc(n);
      const t = this.t;
      const r = t.offset === null
        ? ctx.sys.call(SYS_read, t.kfd, t.kfd, buf, n)
        : ctx.sys.call(SYS_pread64, t.kfd, t.kfd, buf, n, lo32(t.offset), hi32(t.offset));
      if (r < 0) throw streamFailure(r, 'read');
      if (r === 0) {
        this.closed = true;
        throw { tag: 'closed' };
      }
      if (t.offset !== null) t.offset += BigInt(r);
      return ctx.mem().copy(buf, r);
    }

    read(len: bigint): Uint8Array {
      ctx.begin();
      // Without waiting: a stream that is not ready gives no bytes now.
      if (!this.t.alwaysReady && pollReady([new Pollable({ kind: 'fd', kfd: this.t.kfd, events: POLLIN })], 0n).length === 0) return new Uint8Array(0);
      return this.readSome(len);
    }

    blockingRead(len: bigint): Uint8Array {
      ctx.begin();
      return this.readSome(len);
    }

    skip(len: bigint): bigint {
      return BigInt(this.read(len).length);
    }

    blockingSkip(len: bigint): bigint {
      return BigInt(this.blockingRead(len).length);
    }

    subscribe(): Pollable {
      return new Pollable(this.t.alwaysReady ? { kind: 'ready' } : { kind: 'fd', kfd: this.t.kfd, events: POLLIN });
    }

    [DISPOSE](): void {}
  }

  /** How much one `write` may take: what the scratch moves in one call. */
  const budget = (): bigint => BigInt(ctx.chunk);

  class OutputStream {
    private failed: ReturnType<typeof streamFailure> | null = null;

    constructor(private readonly t: StreamTarget) {}

    private writeAll(bytes: Uint8Array): void {
      if (this.failed) throw this.failed;
      const t = this.t;
      let done = 0;
      while (done < bytes.length) {
        ctx.sys.reset();
        const n = Math.min(bytes.length - done, ctx.chunk);
        const buf = ctx.sys.alloc(n);
        ctx.mem().write(buf, bytes.subarray(done, done + n));
        let at = t.offset;
        if (t.append) {
          const st = ctx.sys.alloc(STAT_SIZE);
          const s = ctx.sys.call(SYS_fstat, t.kfd, t.kfd, st);
          if (s < 0) throw (this.failed = streamFailure(s, 'write'));
          at = ctx.mem().view.getBigInt64(st + STAT_ST_SIZE, true);
        }
        const r = at === null
          ? ctx.sys.call(SYS_write, t.kfd, t.kfd, buf, n)
          : ctx.sys.call(SYS_pwrite64, t.kfd, t.kfd, buf, n, lo32(at), hi32(at));
        if (r < 0) throw (this.failed = streamFailure(r, 'write'));
        if (t.offset !== null && !t.append) t.offset += BigInt(r);
        done += r;
      }
    }

    checkWrite(): bigint {
      ctx.begin();
      if (this.failed) throw this.failed;
      return budget();
    }

    write(contents: Uint8Array): void {
      ctx.begin();
      if (BigInt(contents.length) > budget()) throw new Error('write of more than check-write allowed traps (wasi:io/streams)');
      this.writeAll(contents);
    }

    blockingWriteAndFlush(contents: Uint8Array): void {
      ctx.begin();
      if (contents.length > 4096) throw new Error('blocking-write-and-flush of more than 4096 bytes traps (wasi:io/streams)');
      this.writeAll(contents);
    }

    // Writes go to the kernel at once: there is nothing to flush.
    flush(): void {
      ctx.begin();
      if (this.failed) throw this.failed;
    }

    blockingFlush(): void {
      this.flush();
    }

    subscribe(): Pollable {
      return new Pollable(this.t.alwaysReady ? { kind: 'ready' } : { kind: 'fd', kfd: this.t.kfd, events: POLLOUT });
    }

    writeZeroes(len: bigint): void {
      ctx.begin();
      this.writeAll(new Uint8Array(Number(len)));
    }

    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }

    splice(src: InstanceType<IoInterfaces['InputStream']>, len: bigint): bigint {
      const data = src.read(len);
      ctx.begin();
      this.writeAll(data);
      return BigInt(data.length);
    }

    blockingSplice(src: InstanceType<IoInterfaces['InputStream']>, len: bigint): bigint {
      const data = src.blockingRead(len);
      ctx.begin();
      this.writeAll(data);
      return BigInt(data.length);
    }

    [DISPOSE](): void {}
  }

  return { Pollable, InputStream, OutputStream, poll, pollReady, monotonicNow, IoError };
}

