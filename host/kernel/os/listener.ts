import * as net from 'node:net';
import type { InetAddress } from '../common/sockaddr.js';
import { errnoOf } from './errno.js';
import { dotted, endpoint } from './inet.js';

/** An error that hit a connection while it waited in the queue (read by the socket that adopts it). */
const QUEUED_ERROR = Symbol('flexvm.queuedError');
type QueuedSocket = net.Socket & { [QUEUED_ERROR]?: number };

function noteQueuedError(this: QueuedSocket, err: Error): void {
  this[QUEUED_ERROR] ??= errnoOf(err);
}

/** Detaches a queued connection from the queue's bookkeeping; returns the error it met while queued (0: none). */
export function unqueue(sock: net.Socket): number {
  const s = sock as QueuedSocket;
  s.removeListener('error', noteQueuedError);
  return s[QUEUED_ERROR] ?? 0;
}

/**
 * A listening socket: a net.Server and the queue of connections Node accepted that the guest has not
 * yet taken with accept4.
 *
 * The backlog. Node 20 accepts every connection the OS completes, as fast as it can, and offers no
 * way to stop accepting on a listening handle (uv_read_stop is a no-op on it, and closing the server
 * gives up the port). So the backlog is enforced in two places: the OS listen() gets the guest's
 * backlog, bounding the kernel's own queue while Node is busy, and flexvm's queue holds at most
 * backlog + 1 connections, as Linux's accept queue does (sk_acceptq_is_full is `>`). A connection
 * arriving when the queue is full is reset at once: Linux's behaviour with
 * net.ipv4.tcp_abort_on_overflow = 1 (the default, 0, drops the handshake and lets the client
 * retry, which cannot be done from user space once Node has accepted). The client sees ECONNRESET.
 * Queued connections are paused (pauseOnConnect): their data stays in the OS receive buffer until
 * the guest accepts them, so a full queue costs no host memory beyond the sockets themselves.
 */
export class Listener {
  readonly server: net.Server;
  private readonly queue: net.Socket[] = [];
  private head = 0;
  private limit: number;
  /** Connections reset because the queue was full. */
  overflows = 0;
  private failure: ((errno: number) => void) | null = null;
  /** Set when listening failed: the errno Node reported on the next tick. */
  failedWith = 0;

  constructor(
    backlog: number,
    private readonly changed: () => void,
    private readonly log: (message: string) => void,
  ) {
    this.limit = backlog + 1;
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    this.server.on('connection', (sock: net.Socket) => this.onConnection(sock));
    this.server.on('error', (err: Error) => {
      if (this.server.listening) {
        // accept() failing on a listening socket (EMFILE...): the connection stays in the OS queue.
        this.log(`os kernel: listener: ${err.message}`);
        return;
      }
      this.failedWith = errnoOf(err);
      const f = this.failure;
      this.failure = null;
      f?.(this.failedWith);
    });
  }

  /**
   * Binds and listens on `addr:port`. Returns true when listening (known at once), false when Node
   * refused; the reason arrives on the next tick through `onFailure`.
   */
  start(addr: number, port: number, backlog: number): boolean {
    const s = this.server as net.Server & { _listen2?: (a: string, p: number, t: number, b: number) => void };
    // setupListenHandle (its legacy alias _listen2) binds and listens synchronously; listen() with
    // a host defers everything to a DNS lookup on the next tick, too late for a colocated call.
    if (typeof s._listen2 === 'function') s._listen2(dotted(addr), port, 4, backlog);
    else s.listen({ host: dotted(addr), port, backlog });
    return this.server.listening;
  }

  /** Called once with the errno when a listen that did not start at once fails. */
  onFailure(f: (errno: number) => void): void {
    if (this.failedWith !== 0) f(this.failedWith);
    else this.failure = f;
  }

  /** Called once when a listen that did not start at once succeeds (the fallback without _listen2). */
  onListening(f: () => void): void {
    if (this.server.listening) f();
    else this.server.once('listening', f);
  }

  get address(): InetAddress {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? endpoint(a.address, a.port) : { addr: 0, port: 0 };
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** listen() again on a listening socket changes its backlog (flexvm's queue; the OS keeps the first). */
  setBacklog(backlog: number): void {
    this.limit = backlog + 1;
  }

  /** The oldest queued connection, or undefined. */
  take(): net.Socket | undefined {
    if (this.head >= this.queue.length) return undefined;
    const s = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return s;
  }

  /** Stops listening and resets every connection nobody accepted (Linux does the same). */
  close(): void {
    this.failure = null;
    this.server.close();
    for (let s = this.take(); s !== undefined; s = this.take()) {
      unqueue(s);
      s.on('error', () => {});
      s.resetAndDestroy();
    }
  }

  private onConnection(sock: net.Socket): void {
    sock.on('error', noteQueuedError);
    if (this.queued >= this.limit) {
      if (this.overflows++ === 0) {
        this.log(`os kernel: listener on port ${this.address.port}: accept queue full (backlog ${this.limit - 1}); resetting new connections`);
      }
      sock.resetAndDestroy();
      return;
    }
    this.queue.push(sock);
    this.changed();
  }
}
