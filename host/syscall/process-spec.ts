import { STDIO_QUEUE_LIMIT, type ProcessSpec } from '../kernel/kernel.js';
import { StdinRing } from '../kernel/common/stdin-ring.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { GC_STDERR_QUEUED, GC_STDOUT_QUEUED } from './served-guest.js';
import type { AttachInfo, FromWorker } from '../vm/messages.js';

/**
 * The ProcessSpec a kernel gets for a guest, with standard output routed to the main thread. The
 * bytes in flight per stream are counted in the guest's shared counters: added here, taken off by
 * the main thread once the embedder's sink has them (vm.ts), which is what bounds a guest writing to
 * a pipe nobody reads (Stdio.queued).
 */
export function makeProcessSpec(
  a: Pick<AttachInfo, 'gid' | 'pid' | 'name' | 'grants' | 'stdin' | 'stdinRing' | 'limits' | 'shared' | 'counters'>,
  memory: GuestMemory,
  fdClasses: number,
  post: (m: FromWorker) => void,
): ProcessSpec {
  const counters = new Int32Array(a.counters);
  const word = (fd: 1 | 2) => (fd === 1 ? GC_STDOUT_QUEUED : GC_STDERR_QUEUED);
  return {
    pid: a.pid,
    name: a.name,
    memory,
    grants: a.grants,
    stdin: a.stdin,
    stdinRing: a.stdinRing ? new StdinRing(a.stdinRing) : null,
    limits: a.limits,
    fdClasses,
    shared: a.shared,
    stdio: {
      write: (fd, bytes) => {
        Atomics.add(counters, word(fd), bytes.length);
        post({ type: 'stdio', gid: a.gid, fd, data: bytes });
      },
      queued: (fd) => Atomics.load(counters, word(fd)),
      whenDrained: (fd, then) => {
        const w = word(fd);
        const seen = Atomics.load(counters, w);
        // Drained since the writer looked: no change may ever come again, so say so now.
        if (seen < STDIO_QUEUE_LIMIT) return queueMicrotask(then);
        const waited = Atomics.waitAsync(counters, w, seen);
        if (waited.async) void waited.value.then(then);
        else queueMicrotask(then);
      },
    },
  };
}
