import { EAGAIN, EINVAL, POLLERR, POLLHUP, POLLNVAL, POLLFD_SIZE } from '../../abi/v1.js';
import { readPollfds, writePollRevents } from '../common/event-structs.js';
import { PENDING, type Call } from '../kernel.js';
import type { Description } from './description.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';
import { mustNotWait, timeoutDeadline } from './blocking.js';

/** poll(fds, nfds, timeout_ms): -1 waits forever, 0 checks once; timeouts are in virtual milliseconds. */
export function sysPoll(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [fdsPtr, nfds, timeoutMs] = [c.a0, c.a1 >>> 0, c.a2];
  // Linux refuses more entries than RLIMIT_NOFILE allows descriptors.
  if (nfds > p.spec.limits.maxFds) return -EINVAL;
  p.memory.check(fdsPtr, nfds * POLLFD_SIZE);
  const requests = readPollfds(p.memory, fdsPtr, nfds);
  // The descriptions as they were at the call: a descriptor closed or reused meanwhile reads POLLNVAL.
  const watched = requests.map((r) => (r.fd < 0 ? undefined : p.fds.get(r.fd)?.value));

  const attempt = (): number => {
    let count = 0;
    const revents = requests.map((r, i) => {
      if (r.fd < 0) return 0;
      const d = watched[i];
      let ev: number;
      if (d === undefined || p.fds.get(r.fd)?.value !== d) ev = POLLNVAL;
      else ev = d.poll() & (r.events | POLLERR | POLLHUP);
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
    k.pollIdleTick();
    return cleared();
  }
  if (mustNotWait(c)) {
    k.pollIdleTick();
    return -EAGAIN;
  }
  const queues = [...new Set(watched.filter((d): d is Description => d !== undefined).map((d) => d.queue))];
  const { deadline } = timeoutDeadline(k, timeoutMs);
  return k.sched.park(p, c, {
    fd: -1,
    queues,
    attempt,
    ...(deadline !== undefined ? { deadline, timeout: cleared } : {}),
  });
}
