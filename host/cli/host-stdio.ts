import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { hostStdinReadable } from './host-stdin.js';

/**
 * The host's standard streams for a guest that runs on the main thread (host/vm/this-thread.ts):
 * the native kernel gets them as the guest's 0, 1 and 2 and reads and writes them itself, as a
 * child process would, since the main thread cannot pump pipes while the guest runs on it.
 * Descriptor 0 only where the CLI gives the guest its standard input at all (host-stdin.ts), else -1
 * (end of file).
 *
 * A pipe or terminal is opened again (/proc/self/fd/N): the native kernel makes a pipe non-blocking
 * and waits for it in its reactor, and a new open file description keeps that flag away from the
 * one this process shares with its parent and with Node's own stdout. A regular file is passed as
 * it is: its offset is shared, as a child's is (`(read l; flexvm run x.wasm) < file`).
 */
export class HostStdio {
  readonly fds: readonly [number, number, number];
  private readonly opened: number[] = [];

  constructor() {
    this.fds = [hostStdinReadable() ? this.reopen(0) : -1, this.reopen(1), this.reopen(2)];
  }

  /** Closes the descriptors opened here (the guest's own are the kernel's duplicates). */
  close(): void {
    for (const fd of this.opened.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
  }

  private reopen(fd: number): number {
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      return -1; // no such descriptor: the guest's is an empty pipe
    }
    if (!st.isFIFO() && !st.isCharacterDevice()) return fd;
    // Non-blocking: opening a pipe for writing would otherwise wait for a reader.
    const flags = (fd === 0 ? constants.O_RDONLY : constants.O_WRONLY) | constants.O_NONBLOCK | constants.O_NOCTTY;
    try {
      const own = openSync(`/proc/self/fd/${fd}`, flags);
      this.opened.push(own);
      return own;
    } catch {
      return fd; // no /proc, or the reader has gone (ENXIO): the descriptor itself
    }
  }
}
