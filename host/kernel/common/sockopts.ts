import {
  EINVAL,
  ENOPROTOOPT,
  IPPROTO_TCP,
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
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { Call } from '../kernel.js';
import type { TcpSocketBase } from './tcp.js';

/*
 * setsockopt/getsockopt for both kernels: the same options with Linux's encoding. What an option
 * does beyond being stored is the kernel's business (TcpSocketBase.optionChanged and
 * reportedReuseAddr; the os kernel documents its choices in os/socket.ts). Anything else
 * (SO_LINGER, SO_REUSEPORT, TCP_KEEPIDLE...) is ENOPROTOOPT, rather than pretending.
 */

/** Linux's wmem_max/rmem_max: a larger request is cut to this before doubling. */
export const MAX_SOCKBUF_REQUEST = 212992;
/** Linux's minimums (SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF). */
export const MIN_SNDBUF = 4608;
export const MIN_RCVBUF = 2304;

/** Linux stores twice the requested buffer size (for bookkeeping overhead) and reports that. */
function bufferSize(requested: number, minimum: number): number {
  return Math.max(Math.min(requested >>> 0, MAX_SOCKBUF_REQUEST) * 2, minimum);
}

/** setsockopt(fd, level, name, val, len) on socket `s` (the caller looked it up from c.a0). */
export function setSocketOption(memory: GuestMemory, s: TcpSocketBase, c: Call): number {
  const [level, name, valPtr, len] = [c.a1, c.a2, c.a3, c.a4 | 0];
  if (level !== SOL_SOCKET && level !== IPPROTO_TCP) return -ENOPROTOOPT;
  if (len < 4) return -EINVAL;
  const v = memory.i32At(valPtr);
  if (level === IPPROTO_TCP) {
    if (name !== TCP_NODELAY) return -ENOPROTOOPT;
    s.noDelay = v !== 0;
  } else {
    switch (name) {
      case SO_REUSEADDR:
        s.reuseAddr = v !== 0;
        break;
      case SO_KEEPALIVE:
        s.keepAlive = v !== 0;
        break;
      case SO_SNDBUF:
        s.sndBuf = bufferSize(v, MIN_SNDBUF);
        break;
      case SO_RCVBUF:
        s.rcvBuf = bufferSize(v, MIN_RCVBUF);
        break;
      default:
        return -ENOPROTOOPT;
    }
  }
  s.optionChanged(level, name);
  return 0;
}

/** getsockopt(fd, level, name, val, lenptr) on socket `s` (the caller looked it up from c.a0). */
export function getSocketOption(memory: GuestMemory, s: TcpSocketBase, c: Call): number {
  const [level, name, valPtr, lenPtr] = [c.a1, c.a2, c.a3, c.a4];
  const room = memory.i32At(lenPtr);
  if (room < 0) return -EINVAL;
  let v: number;
  if (level === IPPROTO_TCP && name === TCP_NODELAY) {
    v = s.noDelay ? 1 : 0;
  } else if (level === SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        v = s.reportedReuseAddr ? 1 : 0;
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
  if (n > 0) memory.write(valPtr, bytes.subarray(0, n));
  memory.setI32(lenPtr, n);
  if (level === SOL_SOCKET && name === SO_ERROR) s.takeError();
  return 0;
}
