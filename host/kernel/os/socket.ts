import * as net from 'node:net';
import {
  EAGAIN,
  EALREADY,
  ECONNREFUSED,
  EINPROGRESS,
  EINVAL,
  EISCONN,
  ENOTCONN,
  EPIPE,
  INADDR_LOOPBACK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  S_IFSOCK,
} from '../../abi/v1.js';
import { SysError } from '../errors.js';
import type { ByteSink, ByteSource } from '../common/iovec.js';
import type { InetAddress } from '../common/sockaddr.js';
import type { StatInfo } from '../common/stat.js';
import { ChunkQueue } from './chunk-queue.js';
import { Description } from './description.js';
import { errnoOf } from './errno.js';
import { dotted, endpoint } from './inet.js';
import { Listener, SOMAXCONN, unqueue } from './listener.js';
import type { OsKernelOptions } from './options.js';
import type { Orphans } from './orphans.js';
import { objectStat, SOCKFS_DEV } from './stat-info.js';

/**
 * Bounds of the host-side buffers of a connection, in bytes: received data waiting for the guest
 * (past it the socket is paused: Node stops reading, the OS window fills and the peer slows down) and
 * data written but not yet taken by the OS (past it writes wait, or take only what fits). These are
 * what SO_RCVBUF and SO_SNDBUF report and set (see sockopts.ts).
 */
export const DEFAULT_SNDBUF = 256 * 1024;
export const DEFAULT_RCVBUF = 256 * 1024;

/** What sockets need from their kernel. */
export interface SocketEnvironment {
  readonly options: OsKernelOptions;
  readonly orphans: Orphans;
  newIno(): number;
  log(message: string): void;
}

/**
 * - fresh: no connection (never connected, or a connect that failed), bound or not;
 * - connecting, connected, listening;
 * - closed: was connected, and the connection is over (reset, or both sides closed).
 */
type TcpState = 'fresh' | 'connecting' | 'connected' | 'listening' | 'closed';

const OWNER = Symbol('flexvm.owner');
type Owned = net.Socket & { [OWNER]?: TcpSocket };

// Shared event handlers (no closures per connection): `this` is the net.Socket.
function onConnect(this: Owned): void {
  this[OWNER]?.onConnect(this);
}
function onData(this: Owned, chunk: Buffer): void {
  this[OWNER]?.onData(this, chunk);
}
function onEnd(this: Owned): void {
  this[OWNER]?.onEnd(this);
}
function onError(this: Owned, err: Error): void {
  this[OWNER]?.onError(this, err);
}
function onClose(this: Owned): void {
  this[OWNER]?.onClose(this);
}

/**
 * An AF_INET stream socket over Node's `net`. Received data is queued here (in Node's own chunks, no
 * copy) until the guest reads it; written data goes to the net.Socket at once, as long as the
 * bytes Node holds unsent stay under the send bound. Semantics follow Linux's TCP: a FIN lets the
 * guest read what is buffered then end of file; a reset reports ECONNRESET once after the buffered
 * data; closing with unread data resets the peer, otherwise the connection ends gracefully after
 * every written byte has been sent.
 */
export class TcpSocket extends Description {
  state: TcpState = 'fresh';
  /** The address given to bind() (0.0.0.0 already mapped to loopback unless options allow it). */
  bound: InetAddress | null = null;
  local: InetAddress | null = null;
  peer: InetAddress | null = null;
  listener: Listener | null = null;
  private sock: Owned | null = null;
  private rx: ChunkQueue | null = null;
  /** The peer's FIN arrived. */
  private rxEnded = false;
  /** RCV_SHUTDOWN by our SHUT_RD. */
  private rcvShutdown = false;
  /** SEND_SHUTDOWN: our SHUT_WR. */
  private sndShutdown = false;
  /** Reading is paused because the receive queue is full. */
  private paused = false;
  /** sk_err: reported once by the next read, write, connect or SO_ERROR. */
  pendingError = 0;
  private written: (() => void) | null = null;

  // Options (sockopts.ts says how each is honoured).
  reuseAddr = false;
  /** The host socket was bound by Node (which sets SO_REUSEADDR on it). */
  hostBound = false;
  keepAlive = false;
  noDelay = false;
  sndBuf = DEFAULT_SNDBUF;
  rcvBuf = DEFAULT_RCVBUF;

  private readonly ino: number;
  private readonly createdMs = Date.now();

  constructor(
    private readonly env: SocketEnvironment,
    statusFlags: number,
  ) {
    super(O_RDWR, statusFlags);
    this.ino = env.newIno();
  }

  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Bytes received and not yet read by the guest (for tests and statistics). */
  get queuedBytes(): number {
    return this.rx?.length ?? 0;
  }

  /** Reading paused by back-pressure (for tests). */
  get readPaused(): boolean {
    return this.paused;
  }

  /** Bytes written by the guest that Node has not handed to the OS yet. */
  get unsentBytes(): number {
    return this.sock?.writableLength ?? 0;
  }

  /** Takes and clears the pending error (SO_ERROR). */
  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  // ------------------------------------------------------------------ data

  override read(sink: ByteSink, peek: boolean): number {
    if (this.state === 'fresh' || this.state === 'listening') return -ENOTCONN;
    if (this.state === 'connecting') return -EAGAIN;
    if (sink.length === 0) return 0;
    const rx = this.rx;
    if (rx !== null && rx.length > 0) {
      const n = rx.copyTo(sink, peek);
      if (!peek) this.maybeResume();
      return n;
    }
    if (this.pendingError !== 0) return -this.takeError();
    if (this.rxEnded || this.rcvShutdown || this.state === 'closed') return 0;
    return -EAGAIN;
  }

  override write(source: ByteSource, start: number): number {
    // A write that already moved bytes reports them and leaves the error for the next call (Linux).
    if (this.pendingError !== 0) return start > 0 ? -this.pendingError : -this.takeError();
    if (this.state === 'connecting') return -EAGAIN;
    const sock = this.sock;
    if (this.state !== 'connected' || this.sndShutdown || sock === null || !sock.writable) return -EPIPE;
    const left = source.length - start;
    if (left === 0) return 0;
    const room = this.sndBuf - sock.writableLength;
    if (room <= 0) return -EAGAIN;
    const n = Math.min(room, left);
    this.send(source.read(start, n));
    return n;
  }

  override writeRoom(): number {
    const sock = this.sock;
    if (this.state !== 'connected' || this.sndShutdown || sock === null || !sock.writable || this.pendingError !== 0) return 0;
    return Math.max(0, this.sndBuf - sock.writableLength);
  }

  /**
   * What a write would fail with now (0: it can go ahead or wait). `consume` takes a pending error,
   * as a write that moved no bytes does.
   */
  override writeError(consume: boolean): number {
    if (this.pendingError !== 0) return consume ? -this.takeError() : -this.pendingError;
    if (this.state === 'connecting') return 0;
    const sock = this.sock;
    if (this.state !== 'connected' || this.sndShutdown || sock === null || !sock.writable) return -EPIPE;
    return 0;
  }

  /** Hands bytes to Node (the caller checked the room). The bytes are owned by the socket from now on. */
  send(bytes: Uint8Array): void {
    this.sock!.write(bytes, (this.written ??= () => this.changed()));
  }

  /** Readiness as Linux's tcp_poll computes it. */
  poll(): number {
    if (this.state === 'listening') return this.listener!.queued > 0 ? POLLIN : 0;
    let mask = 0;
    const rcvShut = this.rcvShutdown || this.rxEnded;
    if ((rcvShut && this.sndShutdown) || this.state === 'fresh' || this.state === 'closed') mask |= POLLHUP;
    if (rcvShut || this.state === 'closed') mask |= POLLIN | POLLRDHUP;
    if (this.state !== 'connecting') {
      if (this.queuedBytes > 0) mask |= POLLIN;
      const sock = this.sock;
      if (this.sndShutdown || this.state !== 'connected' || sock === null || !sock.writable) mask |= POLLOUT;
      else if (sock.writableLength < this.sndBuf) mask |= POLLOUT;
    }
    if (this.pendingError !== 0) mask |= POLLERR;
    return mask;
  }

  stat(): StatInfo {
    const sec = Math.floor(this.createdMs / 1000);
    return objectStat(SOCKFS_DEV, this.ino, S_IFSOCK | 0o777, { sec, nsec: (this.createdMs - sec * 1000) * 1e6 });
  }

  // ------------------------------------------------------------------ connections

  /** Starts connect(): -EINPROGRESS (the caller waits or reports it), or -errno at once. */
  connect(to: InetAddress): number {
    switch (this.state) {
      case 'connected':
      case 'closed':
      case 'listening':
        return -EISCONN;
      case 'connecting':
        return -EALREADY;
      case 'fresh':
        break;
    }
    const addr = to.addr === 0 ? INADDR_LOOPBACK : to.addr;
    const sock = new net.Socket({ allowHalfOpen: true }) as Owned;
    this.attach(sock);
    const options: net.TcpSocketConnectOpts = { host: dotted(addr), port: to.port, family: 4 };
    if (this.bound !== null) {
      this.hostBound = true;
      if (this.bound.addr !== 0) options.localAddress = dotted(this.bound.addr);
      if (this.bound.port !== 0) options.localPort = this.bound.port;
    }
    this.pendingError = 0;
    try {
      sock.connect(options);
    } catch (e) {
      this.sock = null;
      sock.destroy();
      return -errnoOf(e);
    }
    this.sock = sock;
    this.state = 'connecting';
    return -EINPROGRESS;
  }

  /** A waiting connect's outcome: 0, -EAGAIN while still connecting, or the error that ended it. */
  connectOutcome(): number {
    if (this.state === 'connected' || this.state === 'closed') return 0;
    if (this.state === 'connecting') return -EAGAIN;
    const e = this.takeError();
    return e !== 0 ? -e : -ECONNREFUSED;
  }

  /** A waiting connect was cancelled: give up the attempt (the socket can connect again). */
  abandonConnect(): void {
    if (this.state !== 'connecting') return;
    const sock = this.sock;
    this.sock = null;
    this.state = 'fresh';
    sock?.destroy();
    this.changed();
  }

  /**
   * listen(): true when listening; false when Node refused (the listener's onFailure tells why).
   * A second listen() changes the backlog.
   */
  listen(backlog: number): boolean {
    if (this.state !== 'fresh' && this.state !== 'listening') throw new SysError(EINVAL);
    // Like Linux, the backlog is read as unsigned and capped (a negative one means "the maximum").
    const limit = Math.min(backlog >>> 0, SOMAXCONN);
    if (this.state === 'listening') {
      this.listener!.setBacklog(limit);
      return true;
    }
    const addr = this.bound?.addr ?? (this.env.options.allowNonLoopbackListen ? 0 : INADDR_LOOPBACK);
    const listener = new Listener(limit, () => this.changed(), (m) => this.env.log(m));
    this.listener = listener;
    if (!listener.start(addr, this.bound?.port ?? 0, limit)) return false;
    this.becomeListening();
    return true;
  }

  /** The listen that started late (fallback path) is up. */
  becomeListening(): void {
    this.state = 'listening';
    this.hostBound = true;
    this.local = this.listener!.address;
    this.changed();
  }

  /** A listen that failed: forget the listener. */
  listenFailed(): void {
    this.listener?.close();
    this.listener = null;
  }

  /** Takes the oldest queued connection as a new socket (undefined when none is queued). */
  accept(statusFlags: number): TcpSocket | undefined {
    const sock = this.listener?.take();
    if (sock === undefined) return undefined;
    const s = new TcpSocket(this.env, statusFlags);
    s.keepAlive = this.keepAlive;
    s.noDelay = this.noDelay;
    s.sndBuf = this.sndBuf;
    s.rcvBuf = this.rcvBuf;
    s.reuseAddr = this.reuseAddr;
    s.adopt(sock as Owned, unqueue(sock));
    this.changed();
    return s;
  }

  shutdown(how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw new SysError(EINVAL);
    if (this.state === 'listening') {
      // Linux: shutting down the read side of a listener stops it listening.
      if (how !== SHUT_WR) {
        this.listenFailed();
        this.state = 'fresh';
        this.changed();
      }
      return;
    }
    if (this.state !== 'connected') throw new SysError(ENOTCONN);
    if (how !== SHUT_WR) this.rcvShutdown = true;
    if (how !== SHUT_RD && !this.sndShutdown) {
      this.sndShutdown = true;
      // FIN after every byte already written.
      this.sock?.end();
    }
    this.changed();
  }

  override release(): void {
    const sock = this.sock;
    switch (this.state) {
      case 'listening':
        this.listenFailed();
        break;
      case 'connecting':
        this.sock = null;
        sock?.destroy();
        break;
      default:
        if (sock !== null && !sock.destroyed) {
          if (this.queuedBytes > 0 || sock.readableLength > 0) {
            // Unread data: Linux answers close() with a reset (and drops what was not sent).
            sock.resetAndDestroy();
          } else {
            // Graceful: FIN once the written bytes are out; keep reading to see the peer's FIN
            // (or data, which resets, as Linux does for a closed socket).
            if (!this.sndShutdown) sock.end();
            if (this.paused) sock.resume();
            this.env.orphans.add(sock);
          }
        }
        break;
    }
    this.rx = null;
    this.state = 'closed';
    super.release();
  }

  // ------------------------------------------------------------------ net.Socket events

  onConnect(sock: Owned): void {
    if (sock !== this.sock || this.state !== 'connecting') return;
    this.state = 'connected';
    this.noteAddresses(sock);
    this.applyOptions(false);
    this.changed();
  }

  onData(sock: Owned, chunk: Buffer): void {
    if (sock !== this.sock) return;
    if (this.released) {
      // Data for a socket the guest closed: Linux resets the connection.
      sock.resetAndDestroy();
      return;
    }
    (this.rx ??= new ChunkQueue()).push(chunk);
    if (!this.paused && this.rx.length >= this.rcvBuf) {
      this.paused = true;
      sock.pause();
    }
    this.changed();
  }

  onEnd(sock: Owned): void {
    if (sock !== this.sock) return;
    this.rxEnded = true;
    if (this.released) {
      if (sock.writableFinished) sock.destroy();
      return;
    }
    this.changed();
  }

  onError(sock: Owned, err: Error): void {
    if (sock !== this.sock) return;
    const e = errnoOf(err);
    if (this.released) return;
    if (this.state === 'connecting') {
      this.sock = null;
      this.state = 'fresh';
      this.pendingError = e;
    } else if (this.pendingError === 0) {
      this.pendingError = e;
    }
    this.changed();
  }

  onClose(sock: Owned): void {
    if (sock !== this.sock) return;
    if (this.state === 'connected') this.state = 'closed';
    if (!this.released) this.changed();
  }

  // ------------------------------------------------------------------ internals

  /**
   * Applies TCP_NODELAY and SO_KEEPALIVE to the connection: all of them when the guest changed one
   * (`changed`), else only those that differ from a new socket's defaults (both off), sparing two
   * system calls per connection.
   */
  applyOptions(changed = true): void {
    const sock = this.sock;
    if (sock === null || sock.destroyed || this.state !== 'connected') return;
    if (changed || this.noDelay) sock.setNoDelay(this.noDelay);
    if (changed || this.keepAlive) sock.setKeepAlive(this.keepAlive);
  }

  /** Resumes reading once the guest has made room (half the bound, so pause/resume do not flap). */
  private maybeResume(): void {
    if (!this.paused || (this.rx?.length ?? 0) > this.rcvBuf / 2) return;
    this.paused = false;
    this.sock?.resume();
  }

  /** A new receive bound (SO_RCVBUF): pause or resume accordingly. */
  receiveBoundChanged(): void {
    const sock = this.sock;
    if (sock === null) return;
    if (!this.paused && this.queuedBytes >= this.rcvBuf) {
      this.paused = true;
      sock.pause();
    } else this.maybeResume();
  }

  private attach(sock: Owned): void {
    sock[OWNER] = this;
    sock.on('connect', onConnect);
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('error', onError);
    sock.on('close', onClose);
  }

  private adopt(sock: Owned, queuedError: number): void {
    this.sock = sock;
    this.hostBound = true;
    this.attach(sock);
    this.noteAddresses(sock);
    this.pendingError = queuedError;
    this.state = sock.destroyed ? 'closed' : 'connected';
    this.applyOptions(false);
    sock.resume();
  }

  private noteAddresses(sock: net.Socket): void {
    this.local = endpoint(sock.localAddress, sock.localPort);
    this.peer = endpoint(sock.remoteAddress, sock.remotePort);
  }
}
