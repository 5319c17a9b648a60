import { EACCES, EADDRNOTAVAIL, EINVAL, INADDR_LOOPBACK } from '../../abi/v1.js';
import { isLoopback } from '../common/sockaddr.js';
import { bindAddress, openSocket, socketOf } from '../common/socket-calls.js';
import { PENDING, type Call } from '../kernel.js';
import { inferListenErrno, isLocalAddress } from './inet.js';
import type { OsKernel } from './kernel.js';
import type { OsProcess } from './process.js';
import { TcpSocket } from './socket.js';

export function sysSocket(k: OsKernel, p: OsProcess, c: Call): number {
  return openSocket(p, c, (statusFlags) => new TcpSocket(k.socketEnv, statusFlags));
}

/**
 * bind() records the address; the host socket is bound when the guest listens or connects (Node
 * binds and listens in one step). So a port in use is reported by listen(), not bind(), and
 * getsockname() after bind(port 0) says port 0 until listen() picked the ephemeral port.
 * 0.0.0.0 means loopback unless the kernel's options allow other addresses; a specific
 * non-loopback address is EACCES without that option (EADDRNOTAVAIL with it, when not this host's).
 */
export function sysBind(k: OsKernel, p: OsProcess, c: Call): number {
  const s = socketOf(p, c.a0, TcpSocket);
  const a = bindAddress(p.memory, c);
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
  const s = socketOf(p, c.a0, TcpSocket);
  // Only an unconnected socket can listen (or one already listening, which changes its backlog):
  // Linux answers EINVAL for a connected or connecting one.
  if (s.state !== 'fresh' && s.state !== 'listening') return -EINVAL;
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
