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
import { SysError } from '../errors.js';
import { parseHostPath } from '../common/path.js';
import type { Call, Kernel, KernelContext, KernelOptions, ProcessSpec } from '../kernel.js';
import { CLOCK_READ_COST_NS, VirtualClock } from './clock.js';
import { sysEpollCreate1, sysEpollCtl, sysEpollWait } from './epoll.js';
import { FileSystem } from './fs.js';
import { sysGetdents64, sysMkdirat, sysNewfstatat, sysOpenat, sysRenameat, sysUnlinkat } from './fs-calls.js';
import { copyGrant } from './grants.js';
import {
  sysClose,
  sysFcntl,
  sysFstat,
  sysFsync,
  sysFtruncate,
  sysLseek,
  sysPread64,
  sysPwrite64,
  sysRead,
  sysReadv,
  sysSendfile,
  sysWrite,
  sysWritev,
} from './io-calls.js';
import { Network } from './network.js';
import { sysPipe2 } from './pipe.js';
import { sysPoll } from './poll.js';
import { VirtualProcess } from './process.js';
import { DeterministicRandom, sysGetrandom } from './random.js';
import { Scheduler } from './scheduler.js';
import type { SocketEnvironment, TcpSocket } from './socket.js';
import {
  sysAccept4,
  sysBind,
  sysConnect,
  sysGetpeername,
  sysGetsockname,
  sysGetsockopt,
  sysListen,
  sysRecvfrom,
  sysSendto,
  sysSetsockopt,
  sysShutdown,
  sysSocket,
} from './socket-calls.js';
import { StdinDescription, StdoutDescription } from './stdio.js';
import { sysClockGettime, sysClockNanosleep, sysNanosleep } from './time-calls.js';

/** One system call: its result, PENDING (after parking the call), or a thrown SysError. */
export type Handler = (k: VirtualKernel, p: VirtualProcess, c: Call) => number;

/** The dispatch table, indexed by Linux x86-64 system call number. */
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
export const VIRTUAL_SYSCALLS: readonly number[] = HANDLERS.flatMap((h, nr) => (h ? [nr] : []));

/**
 * The deterministic in-memory kernel: one instance per VM, shared by all its guests (one filesystem,
 * one loopback network, one virtual clock, one random stream). Nothing here reads the host clock,
 * host randomness or host I/O (except granted directories, copied at attach), so a run depends only
 * on the calls made and their order.
 */
export class VirtualKernel implements Kernel<VirtualProcess> {
  readonly name = 'virtual';
  readonly clock: VirtualClock;
  readonly fs: FileSystem;
  readonly net = new Network<TcpSocket>();
  readonly sched: Scheduler;
  readonly random: DeterministicRandom;
  readonly socketEnv: SocketEnvironment;
  private readonly log: (message: string) => void;
  private readonly processes = new Set<VirtualProcess>();
  private inodeCounter = 0;

  constructor(options: KernelOptions = { kind: 'virtual' }, context?: KernelContext) {
    this.log = context ? (m) => context.log(m) : () => {};
    this.clock = new VirtualClock(options.epochMs);
    this.sched = new Scheduler(this.clock, this.log);
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

  attach(spec: ProcessSpec): VirtualProcess {
    for (const grant of spec.grants) copyGrant(this.fs, grant, this.log);
    const p = new VirtualProcess(spec);
    const now = this.clock.realtime();
    const streams = [
      new StdinDescription(spec.stdin ? spec.stdin.slice() : new Uint8Array(0), this.newIno(), now),
      new StdoutDescription(spec.stdio, 1, this.newIno(), now),
      new StdoutDescription(spec.stdio, 2, this.newIno(), now),
    ];
    streams.forEach((d, fd) => {
      if (!p.fds.hasRoom()) return;
      p.fds.install(fd, d);
      d.refs++;
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
    if (!p.alive) return -ESRCH;
    const handler = Number.isInteger(call.sysno) && call.sysno >= 0 ? HANDLERS[call.sysno] : undefined;
    if (handler === undefined) return -ENOSYS;
    return this.sched.run(call, handler, this, p);
  }

  idle(): boolean {
    const fired = this.clock.advanceToNextTimer();
    this.sched.flush();
    return fired > 0;
  }

  hasTimers(): boolean {
    return this.clock.armed > 0;
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

  /** A zero-timeout poll that found nothing lets virtual time pass like a clock read (no livelock). */
  pollIdleTick(): void {
    this.clock.advance(CLOCK_READ_COST_NS);
  }

  private release(p: VirtualProcess, fd: number): void {
    const slot = p.fds.remove(fd);
    if (slot === undefined) return;
    if (--slot.value.refs === 0) slot.value.release();
  }
}
