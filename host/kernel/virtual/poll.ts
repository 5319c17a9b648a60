import { pollCall } from '../common/poll.js';
import type { Call } from '../kernel.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';

/** poll(): every descriptor is in the one table, and each is a description (files too). */
export function sysPoll(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return pollCall(k, p, c, (fd) => p.fds.get(fd)?.value);
}
