import type * as net from 'node:net';

/** Linux's net.ipv4.tcp_fin_timeout: how long a closed socket may linger waiting for its peer. */
export const ORPHAN_TIMEOUT_MS = 60_000;
const SWEEP_MS = 5_000;

/**
 * Sockets the guest closed that are still finishing: sending queued data and a FIN, then waiting for
 * the peer's FIN (Linux's FIN_WAIT states, "orphans"). One sweep timer for all of them, running only
 * while there are any, destroys those that linger past ORPHAN_TIMEOUT_MS (a peer that never reads or
 * never closes), so no connection costs a timer of its own.
 */
export class Orphans {
  private readonly since = new Map<net.Socket, number>();
  private timer: NodeJS.Timeout | null = null;

  get size(): number {
    return this.since.size;
  }

  add(sock: net.Socket): void {
    if (sock.destroyed) return;
    this.since.set(sock, Date.now());
    sock.once('close', () => this.remove(sock));
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
  }

  remove(sock: net.Socket): void {
    this.since.delete(sock);
    if (this.since.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Destroys every orphan at once (the kernel is closing). */
  destroyAll(): void {
    for (const sock of [...this.since.keys()]) sock.destroy();
    this.since.clear();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    const limit = Date.now() - ORPHAN_TIMEOUT_MS;
    for (const [sock, t] of this.since) if (t < limit) sock.destroy();
  }
}
