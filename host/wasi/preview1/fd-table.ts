import { E } from '../wasi-abi.js';

/** One WASI descriptor: the kernel descriptor behind it and what the program may do with it. */
export interface WasiFd {
  /** The kernel's descriptor (the number its system calls take). */
  kfd: number;
  filetype: number;
  rightsBase: number;
  rightsInheriting: number;
  /** For a preopened directory: the name the program sees (fd_prestat_dir_name). */
  readonly preopen?: string;
}

/**
 * The program's descriptor table. WASI descriptors are the program's own numbers, mapped onto the
 * kernel's: that is what lets fd_renumber move a descriptor and what carries the rights WASI checks
 * at the boundary (the kernel knows nothing of rights). New descriptors take the lowest free number,
 * as POSIX does.
 */
export class FdTable {
  private readonly fds: (WasiFd | undefined)[] = [];

  get(fd: number): WasiFd | undefined {
    return fd >= 0 ? this.fds[fd] : undefined;
  }

  /** The descriptor if it exists and holds every right in `rights`; else the WASI errno. */
  check(fd: number, rights: number): WasiFd | number {
    const f = this.get(fd >>> 0);
    if (!f) return E.BADF;
    if ((f.rightsBase & rights) !== rights) return E.NOTCAPABLE;
    return f;
  }

  add(f: WasiFd): number {
    let fd = 0;
    while (this.fds[fd] !== undefined) fd++;
    this.fds[fd] = f;
    return fd;
  }

  set(fd: number, f: WasiFd): void {
    this.fds[fd] = f;
  }

  remove(fd: number): WasiFd | undefined {
    const f = this.fds[fd];
    this.fds[fd] = undefined;
    while (this.fds.length && this.fds[this.fds.length - 1] === undefined) this.fds.pop();
    return f;
  }
}
