import { EMFILE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { Description } from '../common/description.js';
import { ProcessBase } from '../common/process.js';

/** A guest as the virtual kernel sees it: its descriptors and its waiting calls. */
export class VirtualProcess extends ProcessBase<Description> {
  /** The descriptor table is the whole count: reserving only checks that it has room. */
  reserve(n = 1): void {
    if (!this.hasRoom(n)) throw new SysError(EMFILE);
  }

  unreserve(): void {}

  hasRoom(n = 1): boolean {
    return this.fds.hasRoom(n);
  }

  description(fd: number): Description {
    return this.fds.lookup(fd);
  }
}
