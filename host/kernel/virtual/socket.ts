import {
  EAGAIN,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EALREADY,
  ECONNREFUSED,
  ECONNRESET,
  EINVAL,
  EISCONN,
  ENETUNREACH,
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
import { isLoopback, type InetAddress } from '../common/sockaddr.js';
import type { StatInfo } from '../common/stat.js';
import type { Timespec } from '../common/time.js';
import { ByteQueue } from './byte-queue.js';
import { Description, type ReadOptions } from './description.js';
import type { Network, PortHolder } from './network.js';

/** Bytes buffered per direction of a connection (the receiver's queue). */
export const SOCKET_BUFFER = 256 * 1024;
/** Linux's net.core.somaxconn: listen() backlogs are capped here. */
export const SOMAXCONN = 4096;
/** Linux's defaults (tcp_wmem[1], tcp_rmem[1]), limits (wmem_max, rmem_max) and minimums for SO_SNDBUF/SO_RCVBUF. */
export const DEFAULT_SNDBUF = 16384;
export const DEFAULT_RCVBUF = 131072;
export const MAX_SOCKBUF_REQUEST = 212992;
export const MIN_SNDBUF = 4608;
export const MIN_RCVBUF = 2304;
const SOCKFS_DEV = 0x08;

/** What a socket needs from its kernel. */
export interface SocketEnvironment {
  readonly net: Network<TcpSocket>;
  newIno(): number;
  now(): Timespec;
}

/**
 * - fresh: never connected (TCP_CLOSE), bound or not.
 * - listening, connecting (waiting for room in a listener's backlog), connected.
 * - closed: was connected and got reset (TCP_CLOSE with the connection's history).
 */
type TcpState = 'fresh' | 'listening' | 'connecting' | 'connected' | 'closed';

/**
 * A loopback TCP endpoint. A connection is two sockets, each holding the bytes the other sent in its
 * `inbox` (at most SOCKET_BUFFER). Shutdowns and closes follow Linux: a FIN lets the peer read what
 * is buffered then end of file; closing with unread received data resets the peer instead (its
 * next read or write reports ECONNRESET once, then reads see end of file and writes EPIPE).
 */
export class TcpSocket extends Description implements PortHolder {
  state: TcpState = 'fresh';
  local: InetAddress | null = null;
  peerAddress: InetAddress | null = null;
  /** The other end while it exists. */
  peer: TcpSocket | null = null;
  readonly inbox = new ByteQueue();
  /** RCV_SHUTDOWN: our SHUT_RD, the peer's FIN or a reset. Reads return 0 once the inbox is empty. */
  rcvShutdown = false;
  /** SEND_SHUTDOWN: our SHUT_WR or a reset. */
  sndShutdown = false;
  /** The peer closed its socket: writes fail with EPIPE. */
  peerGone = false;
  /** sk_err: reported once by the next read, write, connect or SO_ERROR. */
  pendingError = 0;

  /** Listening: established connections not yet accepted, and clients waiting for room. */
  readonly backlog: TcpSocket[] = [];
  backlogLimit = 0;
  private readonly connectors: TcpSocket[] = [];
  /** Connecting: the listener we wait on, and the address we asked for. */
  private target: TcpSocket | null = null;
  private targetAddr = 0;

  reuseAddr = false;
  keepAlive = false;
  noDelay = false;
  sndBuf = DEFAULT_SNDBUF;
  rcvBuf = DEFAULT_RCVBUF;

  private readonly ino: number;
  private readonly time: Timespec;

  constructor(
    private readonly env: SocketEnvironment,
    statusFlags: number,
  ) {
    super(O_RDWR, statusFlags);
    this.ino = env.newIno();
    this.time = env.now();
  }

  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Takes and clears the pending error (SO_ERROR). */
  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  override read(sink: ByteSink, options: ReadOptions): number {
    if (this.state === 'fresh' || this.state === 'listening') return -ENOTCONN;
    if (this.state === 'connecting') return -EAGAIN;
    if (sink.length === 0) return 0;
    if (this.inbox.length > 0) {
      const bytes = this.inbox.take(sink.length, options.peek);
      sink.write(0, bytes);
      if (!options.peek) this.peer?.queue.notify();
      return bytes.length;
    }
    if (this.pendingError !== 0) return -this.takeError();
    if (this.rcvShutdown || this.state === 'closed') return 0;
    return -EAGAIN;
  }

  override write(source: ByteSource, start: number): number {
    // A write that already moved bytes reports them and leaves the error for the next call (Linux).
    if (this.pendingError !== 0) return start > 0 ? -this.pendingError : -this.takeError();
    if (this.state === 'connecting') return -EAGAIN;
    const peer = this.peer;
    if (this.state !== 'connected' || this.sndShutdown || this.peerGone || peer === null) return -EPIPE;
    const left = source.length - start;
    if (left === 0) return 0;
    const room = SOCKET_BUFFER - peer.inbox.length;
    if (room <= 0) return -EAGAIN;
    const n = Math.min(room, left);
    peer.inbox.push(source.read(start, n));
    peer.queue.notify();
    return n;
  }

  /** Readiness as Linux's tcp_poll computes it. */
  poll(): number {
    if (this.state === 'listening') return this.backlog.length > 0 ? POLLIN : 0;
    let mask = 0;
    if ((this.rcvShutdown && this.sndShutdown) || this.state === 'fresh' || this.state === 'closed') mask |= POLLHUP;
    if (this.rcvShutdown) mask |= POLLIN | POLLRDHUP;
    if (this.state !== 'connecting') {
      if (this.inbox.length > 0) mask |= POLLIN;
      const peer = this.peer;
      if (this.sndShutdown || this.state !== 'connected' || this.peerGone || peer === null) mask |= POLLOUT;
      else if (peer.inbox.length < SOCKET_BUFFER) mask |= POLLOUT;
    }
    if (this.pendingError !== 0) mask |= POLLERR;
    return mask;
  }

  stat(): StatInfo {
    return {
      dev: SOCKFS_DEV,
      ino: this.ino,
      nlink: 1,
      mode: S_IFSOCK | 0o777,
      uid: 0,
      gid: 0,
      rdev: 0,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atime: this.time,
      mtime: this.time,
      ctime: this.time,
    };
  }

  /** bind(): the caller checked the address family and range. */
  bind(addr: number, port: number): void {
    if (this.local !== null || this.state !== 'fresh') throw new SysError(EINVAL, 'already bound');
    this.local = this.env.net.reserve(this, addr, port);
  }

  listen(backlog: number): void {
    if (this.state !== 'fresh' && this.state !== 'listening') throw new SysError(EINVAL);
    // Like Linux, the backlog is read as unsigned and capped (a negative one means "the maximum").
    const limit = Math.min(backlog >>> 0, SOMAXCONN);
    if (this.state === 'fresh') {
      if (this.local === null) this.local = this.env.net.reserve(this, 0, 0);
      else if (this.env.net.listenConflict(this)) throw new SysError(EADDRINUSE);
      this.state = 'listening';
      this.env.net.listen(this, this.local.port);
    }
    this.backlogLimit = limit;
    this.admit();
  }

  /** Takes the oldest established connection (null when none) and lets a waiting client in. */
  accept(): TcpSocket | null {
    const s = this.backlog.shift() ?? null;
    if (s !== null) {
      this.admit();
      this.queue.notify();
    }
    return s;
  }

  /**
   * Starts connect(): 0 when connected, -EAGAIN when queued behind a full backlog (the call then
   * waits, or reports EINPROGRESS), or -errno.
   */
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
    if (!isLoopback(addr)) return -ENETUNREACH;
    const listener = this.env.net.findListener(addr, to.port);
    if (listener === undefined) return -ECONNREFUSED;
    if (this.local === null) {
      try {
        this.local = this.env.net.reserve(this, INADDR_LOOPBACK, 0);
      } catch {
        return -EADDRNOTAVAIL;
      }
    } else if (this.local.addr === 0) {
      this.local = { addr: INADDR_LOOPBACK, port: this.local.port };
    }
    this.pendingError = 0;
    this.targetAddr = addr;
    if (listener.connectors.length === 0 && listener.hasRoom) {
      listener.establish(this, addr);
      return 0;
    }
    this.state = 'connecting';
    this.target = listener;
    listener.connectors.push(this);
    return -EAGAIN;
  }

  /** A waiting connect's outcome: 0, -EAGAIN while still waiting, or the error that ended it. */
  connectOutcome(): number {
    if (this.state === 'connected' || this.state === 'closed') return 0;
    if (this.state === 'connecting') return -EAGAIN;
    const e = this.takeError();
    return e !== 0 ? -e : -ECONNREFUSED;
  }

  /** A waiting connect was cancelled: leave the listener's queue. */
  abandonConnect(): void {
    if (this.state !== 'connecting') return;
    this.leaveTarget();
    this.state = 'fresh';
    this.queue.notify();
  }

  shutdown(how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw new SysError(EINVAL);
    if (this.state === 'listening') {
      // Linux: shutting down the read side of a listener stops it listening (the port stays bound).
      if (how !== SHUT_WR) {
        this.stopListening();
        this.state = 'fresh';
      }
      return;
    }
    if (this.state !== 'connected') throw new SysError(ENOTCONN);
    if (how !== SHUT_WR) this.rcvShutdown = true;
    if (how !== SHUT_RD && !this.sndShutdown) {
      this.sndShutdown = true;
      const peer = this.peer;
      if (peer !== null) {
        peer.rcvShutdown = true;
        peer.queue.notify();
      }
    }
    this.queue.notify();
  }

  override release(): void {
    switch (this.state) {
      case 'listening':
        this.stopListening();
        break;
      case 'connecting':
        this.leaveTarget();
        break;
      case 'connected':
        this.disconnect();
        break;
      default:
        break;
    }
    this.state = 'closed';
    if (this.local !== null) this.env.net.release(this, this.local.port);
    super.release();
  }

  private get hasRoom(): boolean {
    // Linux's sk_acceptq_is_full() is `queued > backlog`: a backlog of N holds N + 1 connections.
    return this.backlog.length <= this.backlogLimit;
  }

  /** Lets waiting clients in while the backlog has room. */
  private admit(): void {
    while (this.connectors.length > 0 && this.hasRoom) {
      const client = this.connectors.shift()!;
      client.target = null;
      this.establish(client, client.targetAddr);
    }
  }

  /** Creates the server side of a connection from `client` and queues it for accept(). */
  private establish(client: TcpSocket, addr: number): void {
    const server = new TcpSocket(this.env, 0);
    server.reuseAddr = this.reuseAddr;
    server.keepAlive = this.keepAlive;
    server.noDelay = this.noDelay;
    server.sndBuf = this.sndBuf;
    server.rcvBuf = this.rcvBuf;
    server.local = { addr, port: this.local!.port };
    this.env.net.hold(server, server.local.port);
    server.state = 'connected';
    client.state = 'connected';
    server.peer = client;
    client.peer = server;
    server.peerAddress = client.local;
    client.peerAddress = server.local;
    this.backlog.push(server);
    this.queue.notify();
    client.queue.notify();
  }

  private leaveTarget(): void {
    const t = this.target;
    if (t === null) return;
    const i = t.connectors.indexOf(this);
    if (i >= 0) t.connectors.splice(i, 1);
    this.target = null;
  }

  /** Refuses waiting clients and resets connections nobody accepted. */
  private stopListening(): void {
    if (this.local !== null) this.env.net.unlisten(this, this.local.port);
    for (const client of this.connectors.splice(0)) {
      client.target = null;
      client.state = 'fresh';
      client.pendingError = ECONNREFUSED;
      client.queue.notify();
    }
    for (const server of this.backlog.splice(0)) {
      server.peer?.reset();
      server.peer = null;
      server.state = 'closed';
      if (server.local !== null) this.env.net.release(server, server.local.port);
    }
    this.queue.notify();
  }

  /** Our side of a connection goes away: the peer reads end of file, or is reset if we left data unread. */
  private disconnect(): void {
    const peer = this.peer;
    this.peer = null;
    if (peer === null) return;
    peer.peer = null;
    if (this.inbox.length > 0) {
      peer.reset();
    } else {
      peer.rcvShutdown = true;
      peer.peerGone = true;
      peer.queue.notify();
    }
  }

  /** A reset arrived: what is buffered stays readable, then ECONNRESET once, then end of file. */
  private reset(): void {
    this.peer = null;
    this.peerGone = true;
    this.pendingError = ECONNRESET;
    this.rcvShutdown = true;
    this.sndShutdown = true;
    this.state = 'closed';
    this.queue.notify();
  }
}
