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
import type { Call } from '../kernel.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { socketOf } from './socket-calls.js';
import type { TcpSocket } from './socket.js';

/*
 * Socket options, and how honestly each can be honoured through Node 20's `net`:
 *
 * - TCP_NODELAY, SO_KEEPALIVE: applied to the connection (setNoDelay, setKeepAlive); set on a
 *   listener, they are applied to every connection it accepts, as Linux's inheritance does.
 * - SO_SNDBUF, SO_RCVBUF: Node cannot size the OS socket buffers of a TCP socket. These options set
 *   the bounds flexvm enforces on its own buffers instead (bytes written but not yet taken by the
 *   OS; bytes received but not yet read by the guest), which is what back-pressure depends on. As
 *   on Linux the value is doubled and clamped, and getsockopt reports the bound in force.
 * - SO_REUSEADDR: libuv sets it on every TCP socket it binds, whatever the guest asks, so getsockopt
 *   reports 1 for a socket the host has bound (listening, accepted, or connected from a bound
 *   address) and the guest's own setting otherwise. Setting 0 cannot be honoured and is not refused.
 * - SO_TYPE, SO_ERROR (read and clears the pending error), SO_ACCEPTCONN: read-only, as on Linux.
 * - Anything else (SO_LINGER, SO_REUSEPORT, TCP_KEEPIDLE...): ENOPROTOOPT, rather than pretending.
 */

/** Linux's wmem_max/rmem_max: a larger request is cut to this before doubling. */
const MAX_SOCKBUF_REQUEST = 212992;
/** Linux's minimums (SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF). */
const MIN_SNDBUF = 4608;
const MIN_RCVBUF = 2304;

function bufferSize(requested: number, minimum: number): number {
  return Math.max(Math.min(requested >>> 0, MAX_SOCKBUF_REQUEST) * 2, minimum);
}

/** SO_REUSEADDR as the host socket really has it (see above). */
function reuseAddr(s: TcpSocket): boolean {
  return s.reuseAddr || s.state === 'listening' || s.hostBound;
}

export function sysSetsockopt(_k: OsKernel, p: OsProcess, c: Call): number {
  const [level, name, valPtr, len] = [c.a1, c.a2, c.a3, c.a4 | 0];
  const s = socketOf(p, c.a0);
  if (level !== SOL_SOCKET && level !== IPPROTO_TCP) return -ENOPROTOOPT;
  if (len < 4) return -EINVAL;
  const v = p.memory.i32At(valPtr);
  if (level === IPPROTO_TCP) {
    if (name !== TCP_NODELAY) return -ENOPROTOOPT;
    s.noDelay = v !== 0;
    s.applyOptions();
    return 0;
  }
  switch (name) {
    case SO_REUSEADDR:
      s.reuseAddr = v !== 0;
      return 0;
    case SO_KEEPALIVE:
      s.keepAlive = v !== 0;
      s.applyOptions();
      return 0;
    case SO_SNDBUF:
      s.sndBuf = bufferSize(v, MIN_SNDBUF);
      // More room may wake writers.
      s.changed();
      return 0;
    case SO_RCVBUF:
      s.rcvBuf = bufferSize(v, MIN_RCVBUF);
      s.receiveBoundChanged();
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

export function sysGetsockopt(_k: OsKernel, p: OsProcess, c: Call): number {
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
        v = reuseAddr(s) ? 1 : 0;
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
