import { EPERM } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { FILE_READY, pollCall } from '../common/poll.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';

/**
 * poll() with real readiness. It sees the descriptors of the thread it runs on, and files of any
 * thread (always ready). A socket, pipe or epoll set of another class lives on an event loop this
 * thread cannot observe: the call fails with EPERM (as epoll_ctl does), rather than reporting a
 * readiness it cannot know. The guest posts poll to the thread that owns the descriptors.
 */
export function sysPoll(k: OsKernel, p: OsProcess, c: Call): number {
  const mine = p.classOf(c.thread);
  return pollCall(k, p, c, (fd) => {
    const e = p.fds.get(fd)?.value;
    if (e !== undefined || p.classOf(fd) === mine) return e;
    const s = p.files.lookup(fd);
    if (s < 0) throw new SysError(EPERM);
    k.releaseFile(s, p);
    return FILE_READY;
  });
}
