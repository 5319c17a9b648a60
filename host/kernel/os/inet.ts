import * as os from 'node:os';
import { EACCES, EADDRINUSE, EADDRNOTAVAIL } from '../../abi/v1.js';
import { isLoopback, type InetAddress } from '../common/sockaddr.js';

/** "a.b.c.d" for a u32 address in host order. */
export function dotted(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** A u32 address from Node's address string (IPv4, or an IPv4-mapped IPv6 address); 0 when not IPv4. */
export function parseDotted(s: string | undefined): number {
  if (s === undefined) return 0;
  const v4 = s.startsWith('::ffff:') ? s.slice(7) : s;
  const parts = v4.split('.');
  if (parts.length !== 4) return 0;
  let a = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255) return 0;
    a = a * 256 + n;
  }
  return a >>> 0;
}

/** An endpoint from Node's (address, port) pair. */
export function endpoint(address: string | undefined, port: number | undefined): InetAddress {
  return { addr: parseDotted(address), port: port ?? 0 };
}

/** True when `addr` belongs to an interface of this host (binding it can work). */
export function isLocalAddress(addr: number): boolean {
  if (addr === 0 || isLoopback(addr)) return true;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && parseDotted(i.address) === addr) return true;
  }
  return false;
}

/**
 * The errno of a listen that Node refused synchronously without saying why yet (it reports the code
 * on the next tick, too late for a colocated call that must answer at once): an address that is not
 * this host's cannot be bound, a privileged port needs root, anything else is a port in use.
 */
export function inferListenErrno(addr: number, port: number): number {
  if (!isLocalAddress(addr)) return EADDRNOTAVAIL;
  if (port !== 0 && port < 1024 && process.getuid?.() !== 0) return EACCES;
  return EADDRINUSE;
}
