import {
  EACCES,
  AF_INET,
  AF_UNSPEC,
  EAFNOSUPPORT,
  EAGAIN,
  EINPROGRESS,
  EINVAL,
  EMFILE,
  ENOTCONN,
  ENOTSOCK,
  EPROTONOSUPPORT,
  IPPROTO_TCP,
  O_NONBLOCK,
  SOCKADDR_IN_SIZE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { SysError } from '../../errors.js';
import type { Call } from '../kernel.js';
import { mustNotWait, recvOrPark, sendOrPark, tryOrPark } from './blocking.js';
import type { Description } from './description.js';
import type { KernelCore } from './core.js';
import { GuestBuffers } from './iovec.js';
import type { ProcessBase } from './process.js';
import { readSockaddr, writeSockaddr, type GuestSockaddr } from './sockaddr.js';
import { getSocketOption, setSocketOption } from './sockopts.js';
import { TcpSocketBase } from './tcp.js';

/*
 * The socket calls that are the same in both kernels, with Linux's argument checks in Linux's order.
 * bind and listen are each kernel's own (see their socket-calls.ts): binding a port of the virtual
 * loopback network and listening on a host port through Node have nothing in common.
 */

/** socket(2) type values are below SOCK_MAX; the bits above SOCK_TYPE_MASK are flags. */
const SOCK_TYPE_MASK = 0xf;
const SOCK_MAX = 11;

/**
 * socket(domain, type, protocol): AF_INET stream sockets only; `create` makes the kernel's socket
 * with the status flags SOCK_NONBLOCK asks for.
 */
export function openSocket(p: ProcessBase<unknown>, c: Call, create: (statusFlags: number) => Description): number {
  const [domain, type, protocol] = [c.a0, c.a1, c.a2];
  const flags = type & ~SOCK_TYPE_MASK;
  const kind = type & SOCK_TYPE_MASK;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 || kind >= SOCK_MAX) return -EINVAL;
  if (domain !== AF_INET) return -EAFNOSUPPORT;
  if (kind !== SOCK_STREAM || (protocol !== 0 && protocol !== IPPROTO_TCP)) return -EPROTONOSUPPORT;
  return p.open(c.thread, create(statusFlagsOf(flags)), (flags & SOCK_CLOEXEC) !== 0);
}

/** The status flags (O_NONBLOCK) a new socket gets from SOCK_NONBLOCK in socket() or accept4() flags. */
function statusFlagsOf(flags: number): number {
  return (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0;
}

/** The address of bind(fd, addr, len): EINVAL when short, EAFNOSUPPORT unless AF_INET. */
export function bindAddress(memory: GuestMemory, c: Call): GuestSockaddr {
  const a = readSockaddr(memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) throw new SysError(EINVAL);
  // Linux tolerates AF_UNSPEC with INADDR_ANY for old programs.
  if (a.family !== AF_INET && !(a.family === AF_UNSPEC && a.addr === 0)) throw new SysError(EAFNOSUPPORT);
  return a;
}

/** The socket behind `fd`: EBADF when there is no such descriptor, ENOTSOCK when it is not a `type`. */
export function socketOf<S>(p: ProcessBase<unknown>, fd: number, type: abstract new (...args: never[]) => S): S {
  const d = p.description(fd);
  if (!(d instanceof type)) throw new SysError(ENOTSOCK);
  return d;
}

/** recvfrom(fd, buf, len, flags, addr, addrlen): MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL. */
export function sysRecvfrom(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const [addrPtr, lenPtr] = [c.a4, c.a5];
  const s = socketOf(p, c.a0, TcpSocketBase);
  const sink = GuestBuffers.single(p.memory, c.a1, c.a2);
  // TCP reports no source address: Linux stores a length of 0. Done first, so a bad pointer fails
  // the call before it consumes data, and a call that waits needs nothing more at completion.
  if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, null);
  return recvOrPark(k, p, c, s, sink);
}

/** sendto(fd, buf, len, flags, addr, addrlen): the address is ignored on a stream, as Linux TCP does. */
export function sysSendto(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const s = socketOf(p, c.a0, TcpSocketBase);
  return sendOrPark(k, p, c, s, GuestBuffers.single(p.memory, c.a1, c.a2));
}

export function sysShutdown(_k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  socketOf(p, c.a0, TcpSocketBase).shutdown(c.a1);
  return 0;
}

export function sysGetsockname(_k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const s = socketOf(p, c.a0, TcpSocketBase);
  writeSockaddr(p.memory, c.a1, c.a2, s.sockname ?? { addr: 0, port: 0 });
  return 0;
}

export function sysGetpeername(_k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const s = socketOf(p, c.a0, TcpSocketBase);
  if (s.state !== 'connected' || s.peerAddress === null) return -ENOTCONN;
  writeSockaddr(p.memory, c.a1, c.a2, s.peerAddress);
  return 0;
}

export function sysSetsockopt(_k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  return setSocketOption(p.memory, socketOf(p, c.a0, TcpSocketBase), c);
}

export function sysGetsockopt(_k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  return getSocketOption(p.memory, socketOf(p, c.a0, TcpSocketBase), c);
}

/**
 * accept4(fd, addr, addrlen, flags): waits for a connection unless the call may not wait. Like Linux,
 * a full descriptor table fails the accept and leaves the connection queued.
 */
export function sysAccept4(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const [fd, addrPtr, lenPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  const s = socketOf(p, fd, TcpSocketBase);
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return -EINVAL;
  if (!s.listening) return -EINVAL;
  if (addrPtr !== 0) {
    // Check the address buffers before taking a connection, so a fault never loses one.
    const room = p.memory.i32At(lenPtr);
    if (room < 0) return -EINVAL;
    p.memory.check(addrPtr, Math.min(room, SOCKADDR_IN_SIZE));
  }
  const attempt = (): number => {
    if (!s.listening) return -EINVAL;
    if (s.acceptQueued === 0) return -EAGAIN;
    if (!p.hasRoom()) return -EMFILE;
    p.reserve();
    const conn = s.accept(statusFlagsOf(flags))!;
    const newFd = p.install(c.thread, conn, (flags & SOCK_CLOEXEC) !== 0);
    if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, conn.peerAddress);
    return newFd;
  };
  return tryOrPark(k, p, c, fd, s, mustNotWait(c, s), attempt);
}

/**
 * connect(fd, addr, addrlen): waits until connected or refused. A call that may not wait (O_NONBLOCK,
 * EF_NOWAIT) answers EINPROGRESS and the connection goes on; SO_ERROR and writability tell the
 * outcome. A cancelled connect gives up the attempt.
 */
export function sysConnect(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const fd = c.a0;
  const s = socketOf(p, fd, TcpSocketBase);
  const a = readSockaddr(p.memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) return -EINVAL;
  if (a.family !== AF_INET) return -EAFNOSUPPORT;
  // Outgoing access is granted, never assumed (--allow-connect; loopback only by default).
  if (!k.connectPolicy.allows(a.addr, a.port)) return -EACCES;
  const r = s.connect(a);
  if (r !== -EINPROGRESS) return r;
  if (mustNotWait(c, s)) return -EINPROGRESS;
  return tryOrPark(k, p, c, fd, s, false, () => s.connectOutcome(), () => s.abandonConnect());
}
