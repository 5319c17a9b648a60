import {
  AF_INET,
  AF_UNSPEC,
  EACCES,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EINPROGRESS,
  EINVAL,
  EMFILE,
  ENOTCONN,
  ENOTSOCK,
  EPROTONOSUPPORT,
  INADDR_LOOPBACK,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  O_NONBLOCK,
  SOCKADDR_IN_SIZE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { GuestBuffers } from '../common/iovec.js';
import { isLoopback, readSockaddr, writeSockaddr } from '../common/sockaddr.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait, readOrPark, tryOrPark, writeOrPark } from './blocking.js';
import { inferListenErrno, isLocalAddress } from './inet.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { TcpSocket } from './socket.js';

/** socket(2) type values are below SOCK_MAX; the bits above SOCK_TYPE_MASK are flags. */
const SOCK_TYPE_MASK = 0xf;
const SOCK_MAX = 11;

export function socketOf(p: OsProcess, fd: number): TcpSocket {
  const d = p.description(fd);
  if (!(d instanceof TcpSocket)) throw new SysError(ENOTSOCK);
  return d;
}

export function sysSocket(k: OsKernel, p: OsProcess, c: Call): number {
  const [domain, type, protocol] = [c.a0, c.a1, c.a2];
  const flags = type & ~SOCK_TYPE_MASK;
  const kind = type & SOCK_TYPE_MASK;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 || kind >= SOCK_MAX) return -EINVAL;
  if (domain !== AF_INET) return -EAFNOSUPPORT;
  if (kind !== SOCK_STREAM || (protocol !== 0 && protocol !== IPPROTO_TCP)) return -EPROTONOSUPPORT;
  const s = new TcpSocket(k.socketEnv, (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0);
  return p.open(c.thread, s, (flags & SOCK_CLOEXEC) !== 0);
}

/**
 * bind() records the address; the host socket is bound when the guest listens or connects (Node
 * binds and listens in one step). So a port in use is reported by listen(), not bind(), and
 * getsockname() after bind(port 0) says port 0 until listen() picked the ephemeral port.
 * 0.0.0.0 means loopback unless the kernel's options allow other addresses; a specific
 * non-loopback address is EACCES without that option (EADDRNOTAVAIL with it, when not this host's).
 */
export function sysBind(k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  const a = readSockaddr(p.memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) return -EINVAL;
  // Linux tolerates AF_UNSPEC with INADDR_ANY for old programs.
  if (a.family !== AF_INET && !(a.family === AF_UNSPEC && a.addr === 0)) return -EAFNOSUPPORT;
  if (s.bound !== null || s.state !== 'fresh') return -EINVAL;
  const any = k.options.allowNonLoopbackListen;
  let addr = a.addr;
  if (addr === 0) addr = any ? 0 : INADDR_LOOPBACK;
  else if (!isLoopback(addr)) {
    if (!any) return -EACCES;
    if (!isLocalAddress(addr)) return -EADDRNOTAVAIL;
  }
  s.bound = { addr, port: a.port };
  return 0;
}

export function sysListen(k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  if (s.listen(c.a1)) return 0;
  const listener = s.listener!;
  const addr = s.bound?.addr ?? INADDR_LOOPBACK;
  const port = s.bound?.port ?? 0;
  if (k.colocated) {
    // Must answer now: Node gives the reason only on the next tick (see inet.ts).
    const guess = listener.failedWith || inferListenErrno(addr, port);
    listener.onFailure((real) => {
      if (real !== guess) k.log(`os kernel: listen on port ${port} failed with errno ${real}; the guest was told ${guess}`);
    });
    s.listenFailed();
    return -guess;
  }
  // The exact reason comes on the next tick: a prompt completion, not a wait for an event.
  let settled = false;
  listener.onFailure((errno) => {
    if (settled) return;
    settled = true;
    s.listenFailed();
    if (p.alive) c.complete(-errno);
  });
  listener.onListening(() => {
    if (settled) return;
    settled = true;
    s.becomeListening();
    if (p.alive) c.complete(0);
  });
  return PENDING;
}

export function sysAccept4(k: OsKernel, p: OsProcess, c: Call): number {
  const [fd, addrPtr, lenPtr, flags] = [c.a0, c.a1, c.a2, c.a3];
  const s = socketOf(p, fd);
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
    if (s.listener!.queued === 0) return -EAGAIN;
    // Like Linux, a full descriptor table fails the accept and leaves the connection queued.
    if (!p.hasRoom()) return -EMFILE;
    p.reserve();
    const conn = s.accept((flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0)!;
    const newFd = p.install(c.thread, conn, (flags & SOCK_CLOEXEC) !== 0);
    if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, conn.peer);
    return newFd;
  };
  return tryOrPark(k, p, c, fd, s, mustNotWait(c, s), attempt);
}

/**
 * connect(): waits until connected or refused. Without waiting (O_NONBLOCK, EF_NOWAIT) it answers
 * EINPROGRESS and the connection goes on; SO_ERROR and writability tell the outcome. A cancelled
 * connect gives up the attempt.
 */
export function sysConnect(k: OsKernel, p: OsProcess, c: Call): number {
  const fd = c.a0;
  const s = socketOf(p, fd);
  const a = readSockaddr(p.memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) return -EINVAL;
  if (a.family !== AF_INET) return -EAFNOSUPPORT;
  if (s.state === 'connecting') return -EALREADY;
  const r = s.connect(a);
  if (r !== -EINPROGRESS) return r;
  if (mustNotWait(c, s)) return -EINPROGRESS;
  return k.sched.park(p, c, {
    fd,
    on: [s],
    attempt: () => {
      const o = s.connectOutcome();
      return o === -EAGAIN ? PENDING : o;
    },
    abandon: () => s.abandonConnect(),
  });
}

/** recvfrom(fd, buf, len, flags, addr, addrlen): MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL. */
export function sysRecvfrom(k: OsKernel, p: OsProcess, c: Call): number {
  const [flags, addrPtr, lenPtr] = [c.a3, c.a4, c.a5];
  const s = socketOf(p, c.a0);
  const sink = GuestBuffers.single(p.memory, c.a1, c.a2);
  // TCP reports no source address: Linux stores a length of 0. Done first, so a bad pointer fails
  // the call before it consumes data.
  if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, null);
  return readOrPark(k, p, c, c.a0, s, sink, {
    peek: (flags & MSG_PEEK) !== 0,
    nonblocking: (flags & MSG_DONTWAIT) !== 0 || mustNotWait(c, s),
    waitAll: (flags & MSG_WAITALL) !== 0,
  });
}

/** sendto(fd, buf, len, flags, addr, addrlen): the address is ignored on a stream, as Linux TCP does. */
export function sysSendto(k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  const source = GuestBuffers.single(p.memory, c.a1, c.a2);
  return writeOrPark(k, p, c, c.a0, s, source, (c.a3 & MSG_DONTWAIT) !== 0 || mustNotWait(c, s));
}

export function sysShutdown(_k: OsKernel, p: OsProcess, c: Call): number {
  socketOf(p, c.a0).shutdown(c.a1);
  return 0;
}

export function sysGetsockname(_k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  writeSockaddr(p.memory, c.a1, c.a2, s.local ?? s.bound ?? { addr: 0, port: 0 });
  return 0;
}

export function sysGetpeername(_k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  if (s.state !== 'connected' || s.peer === null) return -ENOTCONN;
  writeSockaddr(p.memory, c.a1, c.a2, s.peer);
  return 0;
}
