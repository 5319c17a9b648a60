import * as net from 'node:net';
import { EINPROGRESS, EPIPE, INADDR_LOOPBACK, IPPROTO_TCP, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, S_IFSOCK, TCP_NODELAY } from '../../abi/v1.js';
import { ByteQueue } from '../common/byte-queue.js';
import type { InetAddress } from '../common/sockaddr.js';
import { objectStat, SOCKFS_DEV, type StatInfo } from '../common/stat.js';
import { TcpSocketBase } from '../common/tcp.js';
import { errnoOf } from './errno.js';
import { dotted, endpoint } from './inet.js';
import { Listener, unqueue } from './listener.js';
import type { OsKernelOptions } from './options.js';
import type { Orphans } from './orphans.js';

/**
 * Bounds of the host-side buffers of a connection, in bytes: received data waiting for the guest
 * (past it the socket is paused: Node stops reading, the OS window fills and the peer slows down) and
 * data written but not yet taken by the OS (past it writes wait, or take only what fits). These are
 * what SO_RCVBUF and SO_SNDBUF report and set (see the options below).
 */
export const DEFAULT_SNDBUF = 256 * 1024;
export const DEFAULT_RCVBUF = 256 * 1024;

/** What sockets need from their kernel. */
export interface SocketEnvironment {
  readonly options: OsKernelOptions;
  readonly orphans: Orphans;
  newIno(): number;
  /** A socket is being created on this thread (file calls stop blocking it: OsKernelOptions.fileIo). */
  noteSocket(): void;
  log(message: string): void;
}

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
export class TcpSocket extends TcpSocketBase {
  /** The address given to bind() (0.0.0.0 already mapped to loopback unless options allow it). */
  bound: InetAddress | null = null;
  listener: Listener | null = null;
  private sock: Owned | null = null;
  private rx: ByteQueue | null = null;
  /** The peer's FIN arrived. */
  private rxEnded = false;
  /** Reading is paused because the receive queue is full. */
  private paused = false;
  private written: (() => void) | null = null;
  /** The host socket was bound by Node (which sets SO_REUSEADDR on it). */
  hostBound = false;

  private readonly ino: number;
  private readonly createdMs = Date.now();

  constructor(
    private readonly env: SocketEnvironment,
    statusFlags: number,
  ) {
    super(statusFlags, DEFAULT_SNDBUF, DEFAULT_RCVBUF);
    this.ino = env.newIno();
    env.noteSocket();
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

  // ------------------------------------------------------------------ data

  protected get received(): ByteQueue | null {
    return this.rx;
  }

  protected consumed(): void {
    this.maybeResume();
  }

  protected get inputEnded(): boolean {
    return this.rcvShutdown || this.rxEnded;
  }

  protected get sendOpen(): boolean {
    const sock = this.sock;
    return !this.sndShutdown && sock !== null && sock.writable;
  }

  /** Room under the send bound: what Node holds unsent counts against it. */
  protected sendRoom(): number {
    return this.sndBuf - this.sock!.writableLength;
  }

  protected transmit(bytes: Uint8Array): void {
    this.send(bytes);
  }

  get acceptQueued(): number {
    return this.listener!.queued;
  }

  /** FIN after every byte already written. */
  protected sendFin(): void {
    this.sock?.end();
  }

  protected stopListeningForShutdown(): void {
    this.listenFailed();
    this.state = 'fresh';
    this.changed();
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

  stat(): StatInfo {
    const sec = Math.floor(this.createdMs / 1000);
    return objectStat(SOCKFS_DEV, this.ino, S_IFSOCK | 0o777, { sec, nsec: (this.createdMs - sec * 1000) * 1e6 });
  }

  // ------------------------------------------------------------------ connections

  /** Starts connect(): -EINPROGRESS (the host connects), or -errno at once. */
  connect(to: InetAddress): number {
    const busy = this.connectable();
    if (busy !== 0) return busy;
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
    const limit = this.listenBacklog(backlog);
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

  /** Takes the oldest queued connection as a new socket (null when none is queued). */
  accept(statusFlags: number): TcpSocket | null {
    const sock = this.listener?.take();
    if (sock === undefined) return null;
    const s = new TcpSocket(this.env, statusFlags);
    s.inheritOptions(this);
    s.adopt(sock as Owned, unqueue(sock));
    this.changed();
    return s;
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
    (this.rx ??= new ByteQueue()).push(chunk);
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

  // ------------------------------------------------------------------ options
  /*
   * Socket options, and how honestly each can be honoured through Node 20's `net` (common/sockopts.ts
   * stores them and encodes them as Linux does):
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
   */

  /** Before listen or connect binds the host socket, the address bind() recorded. */
  override get sockname(): InetAddress | null {
    return this.local ?? this.bound;
  }

  /** SO_REUSEADDR as the host socket really has it (see above). */
  override get reportedReuseAddr(): boolean {
    return this.reuseAddr || this.state === 'listening' || this.hostBound;
  }

  override optionChanged(level: number, name: number): void {
    if (level === IPPROTO_TCP) {
      if (name === TCP_NODELAY) this.applyOptions();
    } else if (name === SO_KEEPALIVE) {
      this.applyOptions();
    } else if (name === SO_SNDBUF) {
      // More room may wake writers.
      this.changed();
    } else if (name === SO_RCVBUF) {
      this.receiveBoundChanged();
    }
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
    this.peerAddress = endpoint(sock.remoteAddress, sock.remotePort);
  }
}
