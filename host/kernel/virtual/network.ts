import { EADDRINUSE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { InetAddress } from '../common/sockaddr.js';

/** Linux's default ip_local_port_range. */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;

/** What the port table needs to know about a socket. */
export interface PortHolder {
  readonly local: InetAddress | null;
  readonly reuseAddr: boolean;
  readonly listening: boolean;
}

/**
 * The loopback network shared by every guest of a kernel: which sockets hold which local ports.
 * Binding follows Linux's conflict rule: two sockets on one port conflict when their addresses
 * overlap (equal, or either is 0.0.0.0), unless both set SO_REUSEADDR and the one already there is
 * not listening. Ephemeral ports are handed out in order from 32768, wrapping at 60999, so runs
 * are reproducible. There is no TIME_WAIT: a closed socket frees its port at once.
 */
export class Network<S extends PortHolder> {
  private readonly ports = new Map<number, Set<S>>();
  /** Listening sockets by port (a port also holds every connection accepted on it). */
  private readonly listeners = new Map<number, Set<S>>();
  private nextEphemeral = EPHEMERAL_FIRST;

  /**
   * Reserves `addr:port` for `s` (port 0: an unused ephemeral port). Returns the local address;
   * SysError(EADDRINUSE) on a conflict or when no ephemeral port is left.
   */
  reserve(s: S, addr: number, port: number): InetAddress {
    const chosen = port === 0 ? this.ephemeral() : port;
    if (chosen < 0) throw new SysError(EADDRINUSE, 'no ephemeral port left');
    if (port !== 0 && this.conflicts(s, addr, port)) throw new SysError(EADDRINUSE);
    this.add(s, chosen);
    return { addr, port: chosen };
  }

  /** Registers a socket that shares a port by construction (an accepted connection). */
  hold(s: S, port: number): void {
    this.add(s, port);
  }

  release(s: S, port: number): void {
    const set = this.ports.get(port);
    if (set === undefined) return;
    set.delete(s);
    if (set.size === 0) this.ports.delete(port);
  }

  /** True when `s` may not start listening on its port (another socket there would conflict). */
  listenConflict(s: S): boolean {
    const local = s.local;
    return local !== null && this.conflicts(s, local.addr, local.port);
  }

  /** `s` started listening on its port. */
  listen(s: S, port: number): void {
    let set = this.listeners.get(port);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(port, set);
    }
    set.add(s);
  }

  /** `s` stopped listening. */
  unlisten(s: S, port: number): void {
    const set = this.listeners.get(port);
    if (set === undefined) return;
    set.delete(s);
    if (set.size === 0) this.listeners.delete(port);
  }

  /** The listener a connection to `addr:port` reaches: an exact address match first, then 0.0.0.0. */
  findListener(addr: number, port: number): S | undefined {
    const set = this.listeners.get(port);
    if (set === undefined) return undefined;
    let wildcard: S | undefined;
    for (const s of set) {
      if (s.local === null) continue;
      if (s.local.addr === addr) return s;
      if (s.local.addr === 0 && wildcard === undefined) wildcard = s;
    }
    return wildcard;
  }

  /** Linux's rule: only the state of the socket already on the port matters (a listener never shares). */
  private conflicts(s: S, addr: number, port: number): boolean {
    const set = this.ports.get(port);
    if (set === undefined) return false;
    for (const other of set) {
      if (other === s || other.local === null) continue;
      const overlap = other.local.addr === addr || other.local.addr === 0 || addr === 0;
      if (!overlap) continue;
      if (!(s.reuseAddr && other.reuseAddr && !other.listening)) return true;
    }
    return false;
  }

  /** The next entirely unused ephemeral port, or -1. */
  private ephemeral(): number {
    const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port === EPHEMERAL_LAST ? EPHEMERAL_FIRST : port + 1;
      if (!this.ports.has(port)) return port;
    }
    return -1;
  }

  private add(s: S, port: number): void {
    let set = this.ports.get(port);
    if (set === undefined) {
      set = new Set();
      this.ports.set(port, set);
    }
    set.add(s);
  }
}
