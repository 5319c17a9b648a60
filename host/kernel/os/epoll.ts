import { EBADF, EPERM } from '../../abi/v1.js';
import { epollCtl } from '../common/epoll.js';
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import { OsFile } from './file-description.js';
import type { OsProcess } from './process.js';

/**
 * epoll_ctl: a set watches descriptors of its own thread only. A descriptor of another class lives on
 * another event loop this thread cannot observe, so it is refused with EPERM, the errno Linux gives
 * for a descriptor epoll cannot watch (as for regular files and directories, also EPERM here). This
 * thread cannot tell whether such a descriptor is open at all, so a closed one is EPERM too.
 */
export function sysEpollCtl(_k: OsKernel, p: OsProcess, c: Call): number {
  const [epfd, fd] = [c.a0, c.a2];
  const ep = p.fds.get(epfd)?.value;
  if (ep === undefined) return -EBADF;
  const entry = p.fds.get(fd)?.value;
  if (entry === undefined) {
    // Another class: this thread cannot even tell whether the descriptor is open.
    return fd >= 0 && p.classOf(fd) !== p.classOf(c.thread) ? -EPERM : -EBADF;
  }
  return epollCtl(p, c, ep, entry instanceof OsFile ? null : entry);
}
