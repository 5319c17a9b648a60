import { EAGAIN, EF_NOWAIT, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { PENDING, type Call } from '../kernel.js';
import type { KernelCore } from './core.js';
import type { Description } from './description.js';
import type { ByteSink, ByteSource } from './iovec.js';
import { NSEC_PER_MSEC } from './time.js';
import type { ParkingProcess, Timers } from './scheduler.js';

/*
 * The blocking rules shared by both kernels: when a call may wait, and how a read or write that
 * would wait is parked and retried.
 */

/** The call may not wait: EF_NOWAIT on the entry, or O_NONBLOCK on the description. */
export function mustNotWait(call: Call, d?: Description<unknown>): boolean {
  return (call.flags & EF_NOWAIT) !== 0 || (d !== undefined && d.nonblocking);
}

/** Park options for a millisecond timeout (negative: wait forever); the timeout result is 0. */
export function timeoutDeadline(timers: Timers, timeoutMs: number): { deadline?: number; timeout?: () => number } {
  if (timeoutMs < 0) return {};
  return { deadline: timers.afterNs(timeoutMs * NSEC_PER_MSEC), timeout: () => 0 };
}

/** Runs a description operation, turning a thrown SysError (a fault midway) into -errno. */
function guarded<S>(op: () => number | S): number | S {
  try {
    return op();
  } catch (e) {
    if (e instanceof SysError) return -e.errno;
    throw e;
  }
}

/**
 * Runs `attempt` (a result, or -EAGAIN when it would have to wait) now, and if it would wait either
 * fails with -EAGAIN (`nonblocking`) or parks the call on `d` until a retry succeeds. A step (see
 * Description) is the caller's to run: it is answered at once, and a description that answers one
 * never waits for readiness, so a retry has a number.
 */
export function tryOrPark<S>(
  k: KernelCore,
  p: ParkingProcess,
  c: Call,
  fd: number,
  d: Description<S>,
  nonblocking: boolean,
  attempt: () => number | S,
  abandon?: () => void,
): number | S {
  const r = attempt();
  if (r !== -EAGAIN || nonblocking) return r;
  return k.sched.park(p, c, {
    fd,
    on: [d],
    attempt: () => {
      const again = attempt();
      if (typeof again !== 'number') throw new Error('a description answered a step after waiting for readiness');
      return again === -EAGAIN ? PENDING : again;
    },
    ...(abandon ? { abandon } : {}),
  });
}

/** A sink that stores at an offset of another (MSG_WAITALL fills a buffer over several reads). */
class OffsetSink implements ByteSink {
  constructor(
    private readonly sink: ByteSink,
    private readonly offset: number,
  ) {}
  get length(): number {
    return this.sink.length - this.offset;
  }
  write(offset: number, data: Uint8Array): void {
    this.sink.write(this.offset + offset, data);
  }
}

/**
 * read/readv/recvfrom: returns what is available (or waits for something), or with `waitAll`
 * (MSG_WAITALL) waits until the buffer is full, the stream ends or fails.
 */
export function readOrPark<S>(
  k: KernelCore,
  p: ParkingProcess,
  c: Call,
  fd: number,
  d: Description<S>,
  sink: ByteSink,
  options: { peek: boolean; nonblocking: boolean; waitAll?: boolean },
): number | S {
  if (!options.waitAll || options.peek || options.nonblocking) {
    return tryOrPark(k, p, c, fd, d, options.nonblocking, () => guarded(() => d.read(sink, options.peek)));
  }
  let got = 0;
  const attempt = (): number => {
    for (;;) {
      const r = numeric(guarded(() => d.read(new OffsetSink(sink, got), false)));
      if (r === -EAGAIN) return PENDING;
      if (r < 0) return got > 0 ? got : r;
      got += r;
      if (r === 0 || got >= sink.length) return got;
    }
  };
  const r = attempt();
  if (r !== PENDING) return r;
  return k.sched.park(p, c, { fd, on: [d], attempt, interrupted: (e) => (got > 0 ? got : -e) });
}

/**
 * write/writev/sendto: a blocking write on a stream completes only when every byte is taken
 * (waiting while the buffer is full, as Linux does for pipes and TCP); a non-blocking one takes
 * what fits, or fails with -EAGAIN. An error or a cancellation after some bytes went out returns
 * the count: bytes a write reported are never taken back.
 */
export function writeOrPark<S>(
  k: KernelCore,
  p: ParkingProcess,
  c: Call,
  fd: number,
  d: Description<S>,
  source: ByteSource,
  nonblocking: boolean,
): number | S {
  let done = 0;
  // A description that answers with a step (an os file) writes in it: the step is the answer.
  const first = guarded(() => d.write(source, 0));
  if (typeof first !== 'number') return first;
  let pending: number | null = first;
  const attempt = (): number => {
    for (;;) {
      const r = pending ?? numeric(guarded(() => d.write(source, done)));
      pending = null;
      if (r === -EAGAIN) return done > 0 && nonblocking ? done : nonblocking ? -EAGAIN : PENDING;
      if (r < 0) return done > 0 ? done : r;
      done += r;
      if (done >= source.length || nonblocking || r === 0) return done;
    }
  };
  const r = attempt();
  if (r !== PENDING) return r;
  return k.sched.park(p, c, { fd, on: [d], attempt, interrupted: (e) => (done > 0 ? done : -e) });
}

/** A stream operation's result: a description that answered a step here breaks the blocking rules. */
function numeric<S>(r: number | S): number {
  if (typeof r !== 'number') throw new Error('a description answered a step in the middle of a stream transfer');
  return r;
}

/** recvfrom(fd, buf, len, flags, ...) on a descriptor already known to be a socket: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL. */
export function recvOrPark(k: KernelCore, p: ParkingProcess, c: Call, d: Description, sink: ByteSink): number {
  const flags = c.a3;
  return readOrPark(k, p, c, c.a0, d, sink, {
    peek: (flags & MSG_PEEK) !== 0,
    nonblocking: (flags & MSG_DONTWAIT) !== 0 || mustNotWait(c, d),
    waitAll: (flags & MSG_WAITALL) !== 0,
  });
}

/** sendto(fd, buf, len, flags, ...) on a descriptor already known to be a socket: MSG_DONTWAIT. */
export function sendOrPark(k: KernelCore, p: ParkingProcess, c: Call, d: Description, source: ByteSource): number {
  return writeOrPark(k, p, c, c.a0, d, source, (c.a3 & MSG_DONTWAIT) !== 0 || mustNotWait(c, d));
}
