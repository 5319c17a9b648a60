import { EAGAIN, EINVAL, EPERM, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLFD_SIZE } from '../../abi/v1.js';
import { readPollfds, writePollRevents } from '../common/event-structs.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait } from './blocking.js';
import type { Description } from './description.js';
import type { OsKernel } from './kernel.js';
import { FileHandle, type OsProcess } from './process.js';
import { monotonicMs } from './timer.js';

/** A regular file or directory is always ready, as on Linux. */
const FILE_READY = POLLIN | POLLOUT;

/**
 * poll(fds, nfds, timeout_ms) with real readiness: -1 waits forever, 0 checks once. It sees the
 * descriptors of the thread it runs on, and files of any thread (always ready). A socket, pipe or
 * epoll set of another class lives on an event loop this thread cannot observe: the call fails with
 * EPERM (as epoll_ctl does), rather than reporting a readiness it cannot know. The guest posts poll
 * to the thread that owns the descriptors.
 */
export function sysPoll(k: OsKernel, p: OsProcess, c: Call): number {
  const [fdsPtr, nfds, timeoutMs] = [c.a0, c.a1 >>> 0, c.a2];
  // Linux refuses more entries than RLIMIT_NOFILE allows descriptors.
  if (nfds > p.spec.limits.maxFds) return -EINVAL;
  p.memory.check(fdsPtr, nfds * POLLFD_SIZE);
  const requests = readPollfds(p.memory, fdsPtr, nfds);
  const mine = p.classOf(c.thread);
  // What each entry watches as it was at the call: a descriptor closed or reused meanwhile reads POLLNVAL.
  const watched: (Description | FileHandle | number | undefined)[] = [];
  for (const r of requests) {
    if (r.fd < 0) watched.push(undefined);
    else {
      const e = p.fds.get(r.fd)?.value;
      if (e !== undefined) watched.push(e);
      else if (p.classOf(r.fd) === mine) watched.push(undefined);
      else {
        const s = p.files.lookup(r.fd);
        if (s < 0) return -EPERM;
        k.releaseFile(s, p);
        watched.push(FILE_READY);
      }
    }
  }

  const attempt = (): number => {
    let count = 0;
    const revents = requests.map((r, i) => {
      if (r.fd < 0) return 0;
      const w = watched[i];
      let ev: number;
      if (typeof w === 'number') ev = w & (r.events | POLLERR | POLLHUP);
      else if (w === undefined || p.fds.get(r.fd)?.value !== w) ev = POLLNVAL;
      else ev = (w instanceof FileHandle ? FILE_READY : w.poll()) & (r.events | POLLERR | POLLHUP);
      if (ev !== 0) count++;
      return ev;
    });
    if (count === 0) return PENDING;
    writePollRevents(p.memory, fdsPtr, revents);
    return count;
  };
  const cleared = (): number => {
    writePollRevents(p.memory, fdsPtr, new Array<number>(nfds).fill(0));
    return 0;
  };

  const r = attempt();
  if (r !== PENDING) return r;
  if (timeoutMs === 0) return cleared();
  if (mustNotWait(c)) return -EAGAIN;
  const on = [...new Set(watched.filter((w): w is Description => typeof w === 'object' && !(w instanceof FileHandle)))];
  return k.sched.park(p, c, {
    fd: -1,
    on,
    attempt,
    ...(timeoutMs > 0 ? { deadlineMs: monotonicMs() + timeoutMs, timeout: cleared } : {}),
  });
}
