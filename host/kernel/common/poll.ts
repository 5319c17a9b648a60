import { EAGAIN, EINVAL, POLLERR, POLLFD_SIZE, POLLHUP, POLLIN, POLLNVAL, POLLOUT } from '../../abi/v1.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait, timeoutDeadline } from './blocking.js';
import type { KernelCore } from './core.js';
import { Description } from './description.js';
import { readPollfds, writePollRevents } from './event-structs.js';
import type { ProcessBase } from './process.js';

/** A regular file or directory is always ready, as on Linux. */
export const FILE_READY = POLLIN | POLLOUT;

/**
 * poll(fds, nfds, timeout_ms): -1 waits forever, 0 checks once (timeouts are in virtual milliseconds
 * in the virtual kernel, real ones in the os kernel).
 *
 * `watch(fd)` says what a non-negative fd watches, as it is at the call: the descriptor's table entry
 * (re-checked on every attempt, so a descriptor closed or reused meanwhile reads POLLNVAL; a
 * description reports its readiness and the call waits on it, any other entry is a file, always
 * ready), a fixed readiness (a number: the os kernel's files of other threads), or undefined
 * (POLLNVAL). The kernels differ only there: the os kernel sees just its own thread's descriptions.
 */
export function pollCall(k: KernelCore, p: ProcessBase<unknown>, c: Call, watch: (fd: number) => unknown): number {
  const [fdsPtr, nfds, timeoutMs] = [c.a0, c.a1 >>> 0, c.a2];
  // Linux refuses more entries than RLIMIT_NOFILE allows descriptors.
  if (nfds > p.spec.limits.maxFds) return -EINVAL;
  p.memory.check(fdsPtr, nfds * POLLFD_SIZE);
  const requests = readPollfds(p.memory, fdsPtr, nfds);
  const watched = requests.map((r) => (r.fd < 0 ? undefined : watch(r.fd)));

  const attempt = (): number => {
    let count = 0;
    const revents = requests.map((r, i) => {
      if (r.fd < 0) return 0;
      const w = watched[i];
      let ev: number;
      if (typeof w === 'number') ev = w & (r.events | POLLERR | POLLHUP);
      else if (w === undefined || p.fds.get(r.fd)?.value !== w) ev = POLLNVAL;
      else ev = (w instanceof Description ? w.poll() : FILE_READY) & (r.events | POLLERR | POLLHUP);
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
  if (timeoutMs === 0) {
    k.virtualTime?.pollIdleTick();
    return cleared();
  }
  if (mustNotWait(c)) {
    k.virtualTime?.pollIdleTick();
    return -EAGAIN;
  }
  const on = [...new Set(watched.filter((w): w is Description => w instanceof Description))];
  const { deadline } = timeoutDeadline(k.sched.timers, timeoutMs);
  return k.sched.park(p, c, {
    fd: -1,
    on,
    attempt,
    ...(deadline !== undefined ? { deadline, timeout: cleared } : {}),
  });
}
