import type { ProcessSpec } from '../kernel/kernel.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { AttachInfo, FromWorker } from '../vm/messages.js';

/** The ProcessSpec a kernel gets for a guest, with standard output routed to the main thread. */
export function makeProcessSpec(
  a: Pick<AttachInfo, 'gid' | 'pid' | 'name' | 'grants' | 'stdin' | 'limits' | 'shared'>,
  memory: GuestMemory,
  fdClasses: number,
  post: (m: FromWorker) => void,
): ProcessSpec {
  return {
    pid: a.pid,
    name: a.name,
    memory,
    grants: a.grants,
    stdin: a.stdin,
    limits: a.limits,
    fdClasses,
    shared: a.shared,
    stdio: { write: (fd, bytes) => post({ type: 'stdio', gid: a.gid, fd, data: bytes }) },
  };
}
