import { ConnectPolicy } from '../common/connect-policy.js';
import { EBADF } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { dispatchTable, implemented, sysGetpid } from '../common/dispatch.js';
import * as commonEpoll from '../common/epoll.js';
import { parseHostPath } from '../common/path.js';
import * as commonPipe from '../common/pipe.js';
import { Scheduler } from '../common/scheduler.js';
import * as commonSocketCalls from '../common/socket-calls.js';
import * as commonTimeCalls from '../common/time-calls.js';
import type { Timespec } from '../common/time.js';
import type { VirtualTime, VirtualTimeKernel } from '../capabilities.js';
import type { VirtualKernelOptions } from './options.js';
import type { Call, Kernel, KernelContext, ProcessSpec, Stdio } from '../kernel.js';
import { CLOCK_READ_COST_NS, VirtualClock } from './clock.js';
import { sysEpollCtl } from './epoll.js';
import { FileSystem } from './fs.js';
import * as fsCalls from './fs-calls.js';
import * as linkCalls from './link-calls.js';
import { copyGrant } from './grants.js';
import * as ioCalls from './io-calls.js';
import { Network } from './network.js';
import { sysPoll } from './poll.js';
import { VirtualProcess } from './process.js';
import { DeterministicRandom, sysGetrandom } from './random.js';
import type { SocketEnvironment, TcpSocket } from './socket.js';
import * as socketCalls from './socket-calls.js';
import { StdinDescription, stdinStat, stdoutDescription } from './stdio.js';
import { StreamedStdin } from '../common/streamed-stdin.js';
import * as timeCalls from './time-calls.js';

/** Every call's handler, found by name (sysRead for read...): the kernel-neutral ones first, then this kernel's own. */
const HANDLERS = dispatchTable<VirtualKernel, VirtualProcess>({
  // Kernel-neutral (common/).
  ...commonEpoll, ...commonPipe, ...commonSocketCalls, ...commonTimeCalls, sysGetpid,
  // This kernel's own.
  ...ioCalls, ...fsCalls, ...linkCalls, ...socketCalls, ...timeCalls, sysPoll, sysEpollCtl, sysGetrandom,
});

/** The system calls this kernel implements (every other number answers -ENOSYS). */
export const VIRTUAL_SYSCALLS: readonly number[] = implemented(HANDLERS);

/**
 * The deterministic in-memory kernel: one instance per VM, shared by all its guests (one filesystem,
 * one loopback network, one virtual clock, one random stream). Nothing here reads the host clock,
 * host randomness or host I/O (except granted directories, copied at attach), so a run depends only
 * on the calls made and their order.
 */
export class VirtualKernel implements Kernel<VirtualProcess>, VirtualTimeKernel {
  readonly name = 'virtual';
  readonly clock: VirtualClock;
  readonly fs: FileSystem;
  readonly net = new Network<TcpSocket>();
  readonly sched: Scheduler;
  readonly random: DeterministicRandom;
  readonly socketEnv: SocketEnvironment;
  readonly connectPolicy: ConnectPolicy;
  /** KernelOptions.strictLinks: no write access to a file with more than one link. */
  readonly strictLinks: boolean;
  private readonly log: (message: string) => void;
  private readonly processes = new Set<VirtualProcess>();
  private inodeCounter = 0;

  constructor(options: Partial<VirtualKernelOptions> = {}, context?: KernelContext) {
    this.log = context ? (m) => context.log(m) : () => {};
    this.connectPolicy = ConnectPolicy.forKernel(options.allowConnect, this.log);
    this.strictLinks = options.strictLinks === true;
    this.clock = new VirtualClock(options.epochMs);
    this.sched = new Scheduler({ name: 'virtual kernel', timers: this.clock, log: this.log });
    this.random = new DeterministicRandom(options.seed ?? 0);
    this.fs = new FileSystem(
      () => this.newIno(),
      () => this.clock.realtime(),
    );
    this.socketEnv = { net: this.net, newIno: () => this.newIno(), now: () => this.clock.realtime() };
    for (const [path, contents] of Object.entries(options.files ?? {})) {
      const bytes = typeof contents === 'string' ? new TextEncoder().encode(contents) : new Uint8Array(contents);
      this.fs.seedFile(parseHostPath(path).components, bytes);
    }
  }

  /** A fresh inode number (files, pipes, sockets, epoll sets share one sequence). */
  newIno(): number {
    return ++this.inodeCounter;
  }

  realtime(): Timespec {
    return this.clock.realtime();
  }

  attach(spec: ProcessSpec): VirtualProcess {
    for (const grant of spec.grants) copyGrant(this.fs, grant, this.log);
    const p = new VirtualProcess(spec);
    const now = this.clock.realtime();
    const stdio = this.settlingDrains(spec.stdio);
    const streams = [
      spec.stdinRing
        ? new StreamedStdin(spec.stdinRing, stdinStat(this.newIno(), now), () => this.sched.flush())
        : new StdinDescription(spec.stdin ? spec.stdin.slice() : new Uint8Array(0), this.newIno(), now),
      stdoutDescription(stdio, 1, this.newIno(), now),
      stdoutDescription(stdio, 2, this.newIno(), now),
    ];
    streams.forEach((d, fd) => {
      if (p.fds.hasRoom()) p.fds.install(fd, d);
    });
    this.processes.add(p);
    return p;
  }

  detach(p: VirtualProcess): void {
    if (!p.alive) return;
    this.sched.dropAll(p);
    for (const fd of p.fds.fds()) this.release(p, fd);
    p.alive = false;
    this.processes.delete(p);
    // Peers' waiting calls may now finish (end of file, resets).
    this.sched.flush();
  }

  syscall(p: VirtualProcess, call: Call): number {
    return this.sched.dispatch(HANDLERS, this, p, call);
  }


  close(): void {
    for (const p of [...this.processes]) this.detach(p);
  }

  /** close(fd): calls of `p` waiting on it end with EBADF, then the description is released. */
  closeFd(p: VirtualProcess, fd: number): void {
    if (p.fds.get(fd) === undefined) throw new SysError(EBADF);
    this.sched.closeFd(p, fd);
    this.release(p, fd);
  }

  /** Simulated time (capabilities.ts): it moves only when the VM is idle, and by a tick per clock read. */
  readonly virtualTime: VirtualTime = {
    idle: () => {
      const fired = this.clock.advanceToNextTimer();
      this.sched.flush();
      return fired > 0;
    },
    hasTimers: () => this.clock.armed > 0,
    // A poll that may not wait and found nothing lets virtual time pass like a clock read (no livelock).
    pollIdleTick: () => this.clock.advance(CLOCK_READ_COST_NS),
  };

  /**
   * The embedder's sink drains from the event loop, outside any system call, where this kernel's
   * scheduler only queues the retries it causes: settle them then, or a writer parked on a full
   * standard stream waits until some other call or timer happens to flush (forever, for a guest
   * whose only call is that write).
   */
  private settlingDrains(stdio: Stdio): Stdio {
    const whenDrained = stdio.whenDrained;
    if (whenDrained === undefined) return stdio;
    return {
      write: (fd, data) => stdio.write(fd, data),
      ...(stdio.queued ? { queued: (fd: 1 | 2) => stdio.queued!(fd) } : {}),
      whenDrained: (fd, then) =>
        whenDrained.call(stdio, fd, () => {
          then();
          this.sched.flush();
        }),
    };
  }

  private release(p: VirtualProcess, fd: number): void {
    // No dup: the description had this one descriptor.
    p.fds.remove(fd)?.value.release();
  }
}
