import { EAGAIN, EF_NOWAIT } from '../../abi/v1.js';
import { SysError } from '../errors.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import { PENDING, type Call } from '../kernel.js';
import type { Description } from './description.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/** The call may not wait: EF_NOWAIT on the entry, or O_NONBLOCK on the description. */
export function mustNotWait(call: Call, d?: Description): boolean {
  return (call.flags & EF_NOWAIT) !== 0 || (d !== undefined && d.nonblocking);
}

/** Runs a description operation, turning a thrown SysError (a fault midway) into -errno. */
function guarded(op: () => number): number {
  try {
    return op();
  } catch (e) {
    if (e instanceof SysError) return -e.errno;
    throw e;
  }
}

/**
 * Runs `attempt` (a result, or -EAGAIN when it would have to wait) now, and if it would wait either
 * fails with -EAGAIN (`nonblocking`) or parks the call on `d` until a retry succeeds.
 */
export function tryOrPark(
  k: OsKernel,
  p: OsProcess,
  c: Call,
  fd: number,
  d: Description,
  nonblocking: boolean,
  attempt: () => number,
  abandon?: () => void,
): number {
  const r = attempt();
  if (r !== -EAGAIN || nonblocking) return r;
  return k.sched.park(p, c, {
    fd,
    on: [d],
    attempt: () => {
      const again = attempt();
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
 * read/readv/recvfrom on a stream: returns what is buffered (or waits for something), or with
 * `waitAll` (MSG_WAITALL) waits until the buffer is full, the stream ends or fails.
 */
export function readOrPark(
  k: OsKernel,
  p: OsProcess,
  c: Call,
  fd: number,
  d: Description,
  sink: ByteSink,
  options: { peek: boolean; nonblocking: boolean; waitAll?: boolean },
): number {
  if (!options.waitAll || options.peek || options.nonblocking) {
    return tryOrPark(k, p, c, fd, d, options.nonblocking, () => guarded(() => d.read(sink, options.peek)));
  }
  let got = 0;
  const attempt = (): number => {
    for (;;) {
      const r = guarded(() => d.read(new OffsetSink(sink, got), false));
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
 * write/writev/sendto on a stream: a blocking write completes only when every byte is taken (waiting
 * while the outgoing buffer is over its bound, as Linux does for pipes and TCP); a non-blocking one
 * takes what fits, or fails with -EAGAIN. An error or a cancellation after some bytes went out
 * returns the count: bytes a write reported are never taken back.
 */
export function writeOrPark(
  k: OsKernel,
  p: OsProcess,
  c: Call,
  fd: number,
  d: Description,
  source: ByteSource,
  nonblocking: boolean,
): number {
  let done = 0;
  const attempt = (): number => {
    for (;;) {
      const r = guarded(() => d.write(source, done));
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
