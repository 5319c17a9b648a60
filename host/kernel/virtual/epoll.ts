import { epollCtl } from '../common/epoll.js';
import type { Call } from '../kernel.js';
import { DirDescription, FileDescription } from './file.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** epoll_ctl: every descriptor is in the one table (EBADF when absent); files and directories are EPERM. */
export function sysEpollCtl(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const ep = p.fds.lookup(c.a0);
  const target = p.fds.lookup(c.a2);
  return epollCtl(p, c, ep, target instanceof FileDescription || target instanceof DirDescription ? null : target);
}
