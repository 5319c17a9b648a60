import * as fs from 'node:fs';
import {
  EBADF,
  ENOSYS,
  ESRCH,
  SYS_accept4,
  SYS_bind,
  SYS_clock_gettime,
  SYS_clock_nanosleep,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_fcntl,
  SYS_fdatasync,
  SYS_fstat,
  SYS_fsync,
  SYS_ftruncate,
  SYS_getdents64,
  SYS_getpeername,
  SYS_getpid,
  SYS_getrandom,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_lseek,
  SYS_mkdirat,
  SYS_nanosleep,
  SYS_newfstatat,
  SYS_openat,
  SYS_pipe2,
  SYS_poll,
  SYS_pread64,
  SYS_pwrite64,
  SYS_read,
  SYS_readv,
  SYS_recvfrom,
  SYS_renameat,
  SYS_sendfile,
  SYS_sendto,
  SYS_setsockopt,
  SYS_shutdown,
  SYS_socket,
  SYS_unlinkat,
  SYS_write,
  SYS_writev,
} from '../../abi/v1.js';
import { PENDING, type Call, type Kernel, type KernelContext, type KernelOptions, type ProcessSpec } from '../kernel.js';
import { sysEpollCreate1, sysEpollCtl, sysEpollWait } from './epoll.js';
import { fstatSlot, sysMkdirat, sysNewfstatat, sysOpenat, sysRenameat, sysUnlinkat } from './file-calls.js';
import { acquireFile, NOT_A_FILE } from './file-io.js';
import { asyncDriver, syncDriver, type FsDriver, type FsOp } from './fs-driver.js';
import {
  fstatLocal,
  sysClose,
  sysFcntl,
  sysFstat,
  sysFsync,
  sysFtruncate,
  sysGetdents64,
  sysLseek,
  sysPread64,
  sysPwrite64,
  sysRead,
  sysReadv,
  sysWrite,
  sysWritev,
} from './io-calls.js';
import { osKernelOptions, type OsKernelOptions } from './options.js';
import { Orphans } from './orphans.js';
import { sysPipe2 } from './pipe.js';
import { sysPoll } from './poll.js';
import { FileHandle, OsProcess } from './process.js';
import { sysGetrandom } from './random.js';
import { Sandbox } from './sandbox.js';
import { Scheduler } from './scheduler.js';
import { sysSendfile } from './sendfile.js';
import {
  sysAccept4,
  sysBind,
  sysConnect,
  sysGetpeername,
  sysGetsockname,
  sysListen,
  sysRecvfrom,
  sysSendto,
  sysShutdown,
  sysSocket,
} from './socket-calls.js';
import type { SocketEnvironment } from './socket.js';
import { sysGetsockopt, sysSetsockopt } from './sockopts.js';
import { StdinDescription, StdoutDescription } from './stdio.js';
import { sysClockGettime, sysClockNanosleep, sysNanosleep } from './time-calls.js';

/** One system call: its result, PENDING (after parking the call or starting file I/O), or a thrown SysError. */
export type Handler = (k: OsKernel, p: OsProcess, c: Call) => number;

const HANDLERS: (Handler | undefined)[] = [];
HANDLERS[SYS_read] = sysRead;
HANDLERS[SYS_write] = sysWrite;
HANDLERS[SYS_close] = sysClose;
HANDLERS[SYS_fstat] = sysFstat;
HANDLERS[SYS_poll] = sysPoll;
HANDLERS[SYS_lseek] = sysLseek;
HANDLERS[SYS_pread64] = sysPread64;
HANDLERS[SYS_pwrite64] = sysPwrite64;
HANDLERS[SYS_readv] = sysReadv;
HANDLERS[SYS_writev] = sysWritev;
HANDLERS[SYS_nanosleep] = sysNanosleep;
HANDLERS[SYS_getpid] = (_k, p) => p.pid;
HANDLERS[SYS_sendfile] = sysSendfile;
HANDLERS[SYS_socket] = sysSocket;
HANDLERS[SYS_connect] = sysConnect;
HANDLERS[SYS_sendto] = sysSendto;
HANDLERS[SYS_recvfrom] = sysRecvfrom;
HANDLERS[SYS_shutdown] = sysShutdown;
HANDLERS[SYS_bind] = sysBind;
HANDLERS[SYS_listen] = sysListen;
HANDLERS[SYS_getsockname] = sysGetsockname;
HANDLERS[SYS_getpeername] = sysGetpeername;
HANDLERS[SYS_setsockopt] = sysSetsockopt;
HANDLERS[SYS_getsockopt] = sysGetsockopt;
HANDLERS[SYS_fcntl] = sysFcntl;
HANDLERS[SYS_fsync] = sysFsync;
HANDLERS[SYS_fdatasync] = sysFsync;
HANDLERS[SYS_ftruncate] = sysFtruncate;
HANDLERS[SYS_getdents64] = sysGetdents64;
HANDLERS[SYS_clock_gettime] = sysClockGettime;
HANDLERS[SYS_clock_nanosleep] = sysClockNanosleep;
HANDLERS[SYS_epoll_wait] = sysEpollWait;
HANDLERS[SYS_epoll_ctl] = sysEpollCtl;
HANDLERS[SYS_openat] = sysOpenat;
HANDLERS[SYS_mkdirat] = sysMkdirat;
HANDLERS[SYS_newfstatat] = sysNewfstatat;
HANDLERS[SYS_unlinkat] = sysUnlinkat;
HANDLERS[SYS_renameat] = sysRenameat;
HANDLERS[SYS_accept4] = sysAccept4;
HANDLERS[SYS_epoll_create1] = sysEpollCreate1;
HANDLERS[SYS_pipe2] = sysPipe2;
HANDLERS[SYS_getrandom] = sysGetrandom;

/** The system calls this kernel implements (every other number answers -ENOSYS). */
export const OS_SYSCALLS: readonly number[] = HANDLERS.flatMap((h, nr) => (h ? [nr] : []));

/**
 * The os kernel instance of one syscall thread (see index.ts for the design). It owns the sockets,
 * pipes and epoll sets created on its thread and shares each process's file table with the
 * instances on the other threads.
 */
export class OsKernel implements Kernel<OsProcess> {
  readonly name = 'os';
  /** Sockets and timers complete calls from the event loop, in either mode. */
  readonly asynchronous = true;
  readonly sched: Scheduler;
  /** Synchronous file I/O on the guest's own thread (colocated), the threadpool otherwise. */
  readonly fsd: FsDriver;
  readonly colocated: boolean;
  readonly thread: number;
  private readonly threadCount: number;
  readonly options: OsKernelOptions;
  readonly orphans = new Orphans();
  readonly socketEnv: SocketEnvironment;
  private readonly processes = new Set<OsProcess>();
  private readonly logSink: (message: string) => void;
  private inodeCounter = 0;

  constructor(options: KernelOptions = { kind: 'os' }, context?: KernelContext) {
    this.logSink = context ? (m) => context.log(m) : () => {};
    this.colocated = context?.colocated === true;
    this.thread = context?.thread ?? 0;
    this.threadCount = Math.max(1, context?.threadCount ?? 1);
    this.options = osKernelOptions(options);
    this.fsd = this.colocated ? syncDriver : asyncDriver;
    this.sched = new Scheduler(this.logSink);
    this.socketEnv = {
      options: this.options,
      orphans: this.orphans,
      newIno: () => this.newIno(),
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

  attach(spec: ProcessSpec): OsProcess {
    const p = new OsProcess(spec, new Sandbox(spec.grants, this.logSink));
    const streams = [
      new StdinDescription(spec.stdin ? spec.stdin.slice() : new Uint8Array(0), p.files),
      new StdoutDescription(spec.stdio, 1),
      new StdoutDescription(spec.stdio, 2),
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
    this.processes.delete(p);
  }

  syscall(p: OsProcess, call: Call): number {
    if (!p.alive) return -ESRCH;
    const handler = Number.isInteger(call.sysno) && call.sysno >= 0 ? HANDLERS[call.sysno] : undefined;
    if (handler === undefined) return -ENOSYS;
    return this.sched.run(call, () => handler(this, p, call));
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

  /** fstat of any descriptor: local description, or file of any thread. */
  fstat(p: OsProcess, c: Call, fd: number, statPtr: number): number {
    const slot = acquireFile(p, c, fd);
    if (slot === NOT_A_FILE) return fstatLocal(p, p.description(fd), statPtr);
    if (slot < 0) return -EBADF;
    return fstatSlot(this, p, c, slot, statPtr);
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
   * when the operation fails; `slot`, when given, is released at the end either way. A completion
   * for a process that detached meanwhile is dropped.
   */
  runFs<T>(p: OsProcess, c: Call, op: FsOp<T>, finish: (value: T) => number, failed?: () => void, slot = -1): number {
    let sync = true;
    let result = PENDING;
    this.fsd.run(op, (error, value) => {
      if (slot >= 0) this.releaseFile(slot, p);
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
    if (e instanceof FileHandle) this.closeHost(p.files.close(e.slot));
    else e.release();
    // The standard streams are counted once for the whole process, not per descriptor.
    if (!(e instanceof StdinDescription || e instanceof StdoutDescription)) p.unreserve();
  }
}
