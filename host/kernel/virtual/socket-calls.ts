import { EADDRNOTAVAIL } from '../../abi/v1.js';
import { isLoopback } from '../common/sockaddr.js';
import { bindAddress, openSocket, socketOf } from '../common/socket-calls.js';
import type { Call } from '../kernel.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';
import { TcpSocket } from './socket.js';

export function sysSocket(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  return openSocket(p, c, (statusFlags) => new TcpSocket(k.socketEnv, statusFlags));
}

/** bind(): only loopback addresses and INADDR_ANY exist on the virtual network. */
export function sysBind(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const s = socketOf(p, c.a0, TcpSocket);
  const a = bindAddress(p.memory, c);
  if (a.addr !== 0 && !isLoopback(a.addr)) return -EADDRNOTAVAIL;
  s.bind(a.addr, a.port);
  return 0;
}

export function sysListen(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  socketOf(p, c.a0, TcpSocket).listen(c.a1);
  return 0;
}
