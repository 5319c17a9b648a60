import { ConnectPolicy } from '../common/connect-policy.js';
import * as fs from 'node:fs';
import { EBADF, O_ACCMODE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { dispatchTable, implemented, sysGetpid } from '../common/dispatch.js';
import * as commonEpoll from '../common/epoll.js';
import * as commonPipe from '../common/pipe.js';
import * as commonSocketCalls from '../common/socket-calls.js';
import * as commonTimeCalls from '../common/time-calls.js';
import type { Timespec } from '../common/time.js';
import type { EventLoopKernel } from '../capabilities.js';
import { PENDING, type Call, type Kernel, type KernelContext, type ProcessSpec } from '../kernel.js';
import { sysEpollCtl } from './epoll.js';
import * as fileCalls from './file-calls.js';
import * as linkCalls from './link-calls.js';
import { OsFile, type FileStep, type OsDescription } from './file-description.js';
import { asyncDriver, syncDriver, type FsDriver, type FsOp } from './fs-driver.js';
import * as ioCalls from './io-calls.js';
import { osKernelOptions, type OsKernelConfig, type OsKernelOptions } from './options.js';
import { Orphans } from './orphans.js';
import { sysPoll } from './poll.js';
import { OsProcess } from './process.js';
import { sysGetrandom } from './random.js';
import { Sandbox } from './sandbox.js';
import { EventLoopScheduler } from './scheduler.js';
import { sysSendfile } from './sendfile.js';
import * as socketCalls from './socket-calls.js';
import type { SocketEnvironment } from './socket.js';
import { realtimeNow } from './stat-info.js';
import { StdinDescription, stdinStat, stdoutDescription, StdoutDescription } from './stdio.js';
import { StreamedStdin } from '../common/streamed-stdin.js';
import * as timeCalls from './time-calls.js';

/** Every call's handler, found by name (sysRead for read...): the kernel-neutral ones first, then this kernel's own. */
const HANDLERS = dispatchTable<OsKernel, OsProcess>({
  // Kernel-neutral (common/).
  ...commonEpoll, ...commonPipe, ...commonSocketCalls, ...commonTimeCalls, sysGetpid,
  // This kernel's own.
  ...ioCalls, ...fileCalls, ...linkCalls, ...socketCalls, ...timeCalls, sysSendfile, sysPoll, sysEpollCtl, sysGetrandom,
});

/** The system calls this kernel implements (every other number answers -ENOSYS). */
export const OS_SYSCALLS: readonly number[] = implemented(HANDLERS);

/**
 * The os kernel instance of one syscall thread (see index.ts for the design). It owns the sockets,
 * pipes and epoll sets created on its thread and shares each process's file table with the
 * instances on the other threads.
 */
export class OsKernel implements Kernel<OsProcess>, EventLoopKernel {
  readonly name = 'os';
  /** Sockets and timers complete calls from the event loop, in either mode. */
  readonly completesOnEventLoop = true;
  /** Real time passes by itself. */
  readonly virtualTime = null;
  readonly sched: EventLoopScheduler;
  /**
   * How file calls run now: synchronously on the guest's own thread (colocated), and on a syscall
   * thread until its first socket (fileIo 'auto'); on libuv's threadpool otherwise.
   */
  fsd: FsDriver;
  readonly colocated: boolean;
  readonly thread: number;
  private readonly threadCount: number;
  readonly options: OsKernelOptions;
  readonly orphans = new Orphans();
  readonly socketEnv: SocketEnvironment;
  readonly connectPolicy: ConnectPolicy;
  /** KernelOptions.strictLinks: no write access to a file with more than one link. */
  readonly strictLinks: boolean;
  private readonly processes = new Set<OsProcess>();
  private readonly logSink: (message: string) => void;
  private inodeCounter = 0;

  constructor(options: Partial<OsKernelConfig> = {}, context?: KernelContext) {
    this.logSink = context ? (m) => context.log(m) : () => {};
    this.colocated = context?.colocated === true;
    this.thread = context?.thread ?? 0;
    this.threadCount = Math.max(1, context?.threadCount ?? 1);
    this.options = osKernelOptions(options);
    this.connectPolicy = ConnectPolicy.forKernel(options.allowConnect, this.logSink);
    this.strictLinks = options.strictLinks === true;
    this.fsd = this.colocated || this.options.fileIo === 'auto' ? syncDriver : asyncDriver;
    this.sched = new EventLoopScheduler(this.logSink);
    this.socketEnv = {
      options: this.options,
      orphans: this.orphans,
      newIno: () => this.newIno(),
      // From now on a file call blocking this thread could stall a socket: use the threadpool.
      noteSocket: () => {
        if (!this.colocated) this.fsd = asyncDriver;
      },
      log: this.logSink,
    };
  }

  log(message: string): void {
    this.logSink(message);
  }

  /** A fresh inode number for sockets, pipes and epoll sets, unique across the threads of the VM. */
  newIno(): number {
    return ++this.inodeCounter * this.threadCount + this.thread;
  }

  realtime(): Timespec {
    return realtimeNow();
  }

  /** Real time passes by itself: a poll that may not wait has nothing to advance. */

  attach(spec: ProcessSpec): OsProcess {
    const p = new OsProcess(spec, new Sandbox(spec.grants, this.logSink));
    const streams = [
      spec.stdinRing ? new StreamedStdin(spec.stdinRing, stdinStat()) : new StdinDescription(spec.stdin ? spec.stdin.slice() : new Uint8Array(0), p.files),
      stdoutDescription(spec.stdio, 1),
      stdoutDescription(spec.stdio, 2),
    ];
    for (let fd = 0; fd < p.stdioCount; fd++) p.fds.install(fd, streams[fd]!);
    this.processes.add(p);
    return p;
  }

  detach(p: OsProcess): void {
    if (!p.alive) return;
    p.alive = false;
    this.sched.dropAll(p);
    for (const fd of p.fds.fds()) this.release(p, fd);
    p.sandbox.close();
    this.processes.delete(p);
  }

  syscall(p: OsProcess, call: Call): number {
    return this.sched.dispatch(HANDLERS, this, p, call);
  }

  close(): void {
    for (const p of [...this.processes]) this.detach(p);
    // The VM is going away: no lingering graceful closes.
    this.orphans.destroyAll();
  }

  /** close(fd): calls waiting on it end with EBADF, then it is released. */
  closeFd(p: OsProcess, fd: number): number {
    // Only the owner thread closes a descriptor (the guest routes close by fd).
    if (p.fds.get(fd) === undefined) return -EBADF;
    this.sched.closeFd(p, fd);
    this.release(p, fd);
    return 0;
  }

  /**
   * The description behind `fd` for call `c`: a socket, pipe, epoll set, standard stream, file or
   * directory of this thread, or a file or directory of another thread (found in the shared file
   * table: files are the only descriptions every thread can use). A file is held for the call until
   * endCall(). EBADF when there is none.
   */
  descriptor(p: OsProcess, c: Call, fd: number): OsDescription {
    const e = p.fds.get(fd)?.value;
    if (e instanceof OsFile) {
      if (!p.files.acquire(e.slot, fd)) throw new SysError(EBADF);
      return e;
    }
    if (e !== undefined) return e;
    if (!Number.isInteger(fd) || fd < 0 || p.classOf(fd) === p.classOf(c.thread)) throw new SysError(EBADF);
    const slot = p.files.lookup(fd);
    if (slot < 0) throw new SysError(EBADF);
    return new OsFile(this, p, slot, p.files.flags(slot) & O_ACCMODE);
  }

  /** The call that looked `d` up has ended (a file's reference for the call goes). */
  endCall(d: OsDescription): void {
    if (d instanceof OsFile) d.endCall();
  }

  /**
   * Runs call `c` on the description behind `fd`: `use` answers with a result, or with a step that
   * runs on this thread's file driver (see OsFile). One path for every kind of descriptor.
   */
  useDescription(p: OsProcess, c: Call, fd: number, use: (d: OsDescription) => number | FileStep): number {
    const d = this.descriptor(p, c, fd);
    let r: number | FileStep;
    try {
      r = use(d);
    } catch (e) {
      this.endCall(d);
      throw e;
    }
    if (typeof r === 'number') {
      this.endCall(d);
      return r;
    }
    return this.runFs(p, c, r, (n) => n, undefined, d);
  }

  /** fstat of any descriptor (fstat, and newfstatat with AT_EMPTY_PATH). */
  fstat(p: OsProcess, c: Call, fd: number, statPtr: number): number {
    return this.useDescription(p, c, fd, (d) => d.fstat(p.memory, statPtr));
  }

  /** Drops a call's reference to a file slot, closing the host fd when it was the last. */
  releaseFile(slot: number, p: OsProcess): void {
    this.closeHost(p.files.release(slot));
  }

  /** Closes a host descriptor (errors are only logged: the guest's close already succeeded). */
  closeHost(fd: number): void {
    if (fd < 0) return;
    if (this.fsd.synchronous) {
      try {
        fs.closeSync(fd);
      } catch (e) {
        this.log(`os kernel: close of host fd ${fd}: ${(e as Error).message}`);
      }
    } else {
      fs.close(fd, (e) => {
        if (e) this.log(`os kernel: close of host fd ${fd}: ${e.message}`);
      });
    }
  }

  /**
   * Runs a file operation for call `c`: its result at once (synchronous driver, or an operation that
   * failed before any I/O), or PENDING and a completion from the event loop. `finish` turns the
   * operation's value into the result (it may install a descriptor); `failed` undoes preparations
   * when the operation fails; the call's hold on `held`, when given, ends either way. A completion
   * for a process that detached meanwhile is dropped.
   */
  runFs<T>(p: OsProcess, c: Call, op: FsOp<T>, finish: (value: T) => number, failed?: () => void, held?: OsDescription): number {
    let sync = true;
    let result = PENDING;
    this.fsd.run(op, (error, value) => {
      if (held !== undefined) this.endCall(held);
      let r: number;
      if (error) {
        failed?.();
        r = this.sched.errorResult(error);
      } else {
        try {
          r = finish(value as T);
        } catch (e) {
          r = this.sched.errorResult(e);
        }
      }
      if (sync) result = r;
      else if (p.alive) c.complete(r);
    });
    sync = false;
    return result;
  }

  private release(p: OsProcess, fd: number): void {
    const slot = p.fds.remove(fd);
    if (slot === undefined) return;
    const e = slot.value;
    e.release();
    // The standard streams are counted once for the whole process, not per descriptor.
    if (!(e instanceof StdinDescription || e instanceof StreamedStdin || e instanceof StdoutDescription)) p.unreserve();
  }
}
