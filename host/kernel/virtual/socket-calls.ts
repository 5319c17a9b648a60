import {
  AF_INET,
  AF_UNSPEC,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EAGAIN,
  EINPROGRESS,
  EINVAL,
  EMFILE,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTSOCK,
  EPROTONOSUPPORT,
  IPPROTO_TCP,
  O_NONBLOCK,
  SOCKADDR_IN_SIZE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_TYPE,
  TCP_NODELAY,
} from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { GuestBuffers } from '../common/iovec.js';
import { isLoopback, readSockaddr, writeSockaddr } from '../common/sockaddr.js';
import type { Call } from '../kernel.js';
import { mustNotWait, tryOrPark } from './blocking.js';
import { recvInto, sendFrom } from './io-calls.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';
import { MAX_SOCKBUF_REQUEST, MIN_RCVBUF, MIN_SNDBUF, TcpSocket } from './socket.js';

/** socket(2) type values are below SOCK_MAX; the bits above SOCK_TYPE_MASK are flags. */
const SOCK_TYPE_MASK = 0xf;
const SOCK_MAX = 11;

function socketOf(p: VirtualProcess, fd: number): TcpSocket {
  const d = p.fds.lookup(fd);
  if (!(d instanceof TcpSocket)) throw new SysError(ENOTSOCK);
  return d;
}

export function sysSocket(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [domain, type, protocol] = [c.a0, c.a1, c.a2];
  const flags = type & ~SOCK_TYPE_MASK;
  const kind = type & SOCK_TYPE_MASK;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 || kind >= SOCK_MAX) return -EINVAL;
  if (domain !== AF_INET) return -EAFNOSUPPORT;
  if (kind !== SOCK_STREAM || (protocol !== 0 && protocol !== IPPROTO_TCP)) return -EPROTONOSUPPORT;
  const s = new TcpSocket(k.socketEnv, (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0);
  return p.open(c.thread, s, (flags & SOCK_CLOEXEC) !== 0);
}

export function sysBind(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  const a = readSockaddr(p.memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) return -EINVAL;
  // Linux tolerates AF_UNSPEC with INADDR_ANY for old programs.
  if (a.family !== AF_INET && !(a.family === AF_UNSPEC && a.addr === 0)) return -EAFNOSUPPORT;
  if (a.addr !== 0 && !isLoopback(a.addr)) return -EADDRNOTAVAIL;
  s.bind(a.addr, a.port);
  return 0;
}

export function sysListen(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  socketOf(p, c.a0).listen(c.a1);
  return 0;
}

export function sysAccept4(k: VirtualKernel, p: VirtualProcess, c: Call): number {
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
    if (s.backlog.length === 0) return -EAGAIN;
    if (!p.fds.hasRoom()) return -EMFILE;
    const conn = s.accept()!;
    conn.statusFlags = (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0;
    const newFd = p.open(c.thread, conn, (flags & SOCK_CLOEXEC) !== 0);
    if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, conn.peerAddress);
    return newFd;
  };
  return tryOrPark(k, p, c, fd, s, mustNotWait(c, s), attempt);
}

export function sysConnect(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const fd = c.a0;
  const s = socketOf(p, fd);
  const a = readSockaddr(p.memory, c.a1, c.a2);
  if (a.len < SOCKADDR_IN_SIZE) return -EINVAL;
  if (a.family !== AF_INET) return -EAFNOSUPPORT;
  const r = s.connect(a);
  if (r !== -EAGAIN) return r;
  // Queued behind a full backlog: a non-blocking connect is in progress (SO_ERROR tells the outcome).
  if (mustNotWait(c, s)) return -EINPROGRESS;
  return tryOrPark(k, p, c, fd, s, false, () => s.connectOutcome(), () => s.abandonConnect());
}

export function sysSendto(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  // A connected stream socket ignores the destination address, as Linux TCP does.
  return sendFrom(k, p, c, s, GuestBuffers.single(p.memory, c.a1, c.a2));
}

export function sysRecvfrom(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [addrPtr, lenPtr] = [c.a4, c.a5];
  const s = socketOf(p, c.a0);
  const sink = GuestBuffers.single(p.memory, c.a1, c.a2);
  // TCP reports no source address: Linux stores a length of 0. Done first, so a bad pointer fails
  // the call before it consumes data, and a call that waits needs nothing more at completion.
  if (addrPtr !== 0) writeSockaddr(p.memory, addrPtr, lenPtr, null);
  return recvInto(k, p, c, s, sink);
}

export function sysShutdown(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  socketOf(p, c.a0).shutdown(c.a1);
  return 0;
}

export function sysGetsockname(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  writeSockaddr(p.memory, c.a1, c.a2, s.local ?? { addr: 0, port: 0 });
  return 0;
}

export function sysGetpeername(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const s = socketOf(p, c.a0);
  if (s.state !== 'connected' || s.peerAddress === null) return -ENOTCONN;
  writeSockaddr(p.memory, c.a1, c.a2, s.peerAddress);
  return 0;
}

/** Linux stores twice the requested buffer size (for bookkeeping overhead) and reports that. */
function bufferSize(requested: number, minimum: number): number {
  return Math.max(Math.min(requested >>> 0, MAX_SOCKBUF_REQUEST) * 2, minimum);
}

export function sysSetsockopt(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [level, name, valPtr, len] = [c.a1, c.a2, c.a3, c.a4 | 0];
  const s = socketOf(p, c.a0);
  if (level !== SOL_SOCKET && level !== IPPROTO_TCP) return -ENOPROTOOPT;
  if (len < 4) return -EINVAL;
  const v = p.memory.i32At(valPtr);
  if (level === IPPROTO_TCP) {
    if (name !== TCP_NODELAY) return -ENOPROTOOPT;
    s.noDelay = v !== 0;
    return 0;
  }
  switch (name) {
    case SO_REUSEADDR:
      s.reuseAddr = v !== 0;
      return 0;
    case SO_KEEPALIVE:
      s.keepAlive = v !== 0;
      return 0;
    case SO_SNDBUF:
      s.sndBuf = bufferSize(v, MIN_SNDBUF);
      return 0;
    case SO_RCVBUF:
      s.rcvBuf = bufferSize(v, MIN_RCVBUF);
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

export function sysGetsockopt(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [level, name, valPtr, lenPtr] = [c.a1, c.a2, c.a3, c.a4];
  const s = socketOf(p, c.a0);
  const room = p.memory.i32At(lenPtr);
  if (room < 0) return -EINVAL;
  let v: number;
  if (level === IPPROTO_TCP && name === TCP_NODELAY) {
    v = s.noDelay ? 1 : 0;
  } else if (level === SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        v = s.reuseAddr ? 1 : 0;
        break;
      case SO_KEEPALIVE:
        v = s.keepAlive ? 1 : 0;
        break;
      case SO_SNDBUF:
        v = s.sndBuf;
        break;
      case SO_RCVBUF:
        v = s.rcvBuf;
        break;
      case SO_TYPE:
        v = SOCK_STREAM;
        break;
      case SO_ACCEPTCONN:
        v = s.listening ? 1 : 0;
        break;
      case SO_ERROR:
        v = s.pendingError;
        break;
      default:
        return -ENOPROTOOPT;
    }
  } else {
    return -ENOPROTOOPT;
  }
  // Linux copies min(len, sizeof(int)) bytes of the int and stores that length back.
  const n = Math.min(room, 4);
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, v, true);
  if (n > 0) p.memory.write(valPtr, bytes.subarray(0, n));
  p.memory.setI32(lenPtr, n);
  if (level === SOL_SOCKET && name === SO_ERROR) s.takeError();
  return 0;
}
