import { EADDRINUSE, EADDRNOTAVAIL, EINPROGRESS, ECONNREFUSED, ECONNRESET, EINVAL, ENETUNREACH, INADDR_LOOPBACK, S_IFSOCK } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { ByteQueue } from '../common/byte-queue.js';
import { isLoopback, type InetAddress } from '../common/sockaddr.js';
import { objectStat, SOCKFS_DEV, type StatInfo } from '../common/stat.js';
import { TcpSocketBase } from '../common/tcp.js';
import type { Timespec } from '../common/time.js';
import type { Network, PortHolder } from './network.js';

export { SOMAXCONN } from '../common/tcp.js';

/** Bytes buffered per direction of a connection (the receiver's queue). */
export const SOCKET_BUFFER = 256 * 1024;
/** Linux's defaults for SO_SNDBUF and SO_RCVBUF (tcp_wmem[1], tcp_rmem[1]): here they bound nothing. */
export const DEFAULT_SNDBUF = 16384;
export const DEFAULT_RCVBUF = 131072;

/** What a socket needs from its kernel. */
export interface SocketEnvironment {
  readonly net: Network<TcpSocket>;
  newIno(): number;
  now(): Timespec;
}

/**
 * A loopback TCP endpoint. A connection is two sockets, each holding the bytes the other sent in its
 * `inbox` (at most SOCKET_BUFFER). Shutdowns and closes follow Linux: a FIN lets the peer read what
 * is buffered then end of file; closing with unread received data resets the peer instead (its
 * next read or write reports ECONNRESET once, then reads see end of file and writes EPIPE).
 * 'connecting' means waiting for room in a full backlog; a socket the guest can still see is
 * 'closed' only after a reset, which also sets rcvShutdown.
 */
export class TcpSocket extends TcpSocketBase implements PortHolder {
  /** The other end while it exists. */
  peer: TcpSocket | null = null;
  /** What the peer sent; reads return 0 once it is empty and rcvShutdown is set (our SHUT_RD, the peer's FIN or a reset). */
  readonly inbox = new ByteQueue();
  /** The peer closed its socket: writes fail with EPIPE. */
  peerGone = false;

  /** Listening: established connections not yet accepted, and clients waiting for room. */
  readonly backlog: TcpSocket[] = [];
  backlogLimit = 0;
  private readonly connectors: TcpSocket[] = [];
  /** Connecting: the listener we wait on, and the address we asked for. */
  private target: TcpSocket | null = null;
  private targetAddr = 0;

  private readonly ino: number;
  private readonly time: Timespec;

  constructor(
    private readonly env: SocketEnvironment,
    statusFlags: number,
  ) {
    super(statusFlags, DEFAULT_SNDBUF, DEFAULT_RCVBUF);
    this.ino = env.newIno();
    this.time = env.now();
  }

  protected get received(): ByteQueue {
    return this.inbox;
  }

  /** Room in our inbox lets a writing peer go on. */
  protected consumed(): void {
    this.peer?.changed();
  }

  protected get inputEnded(): boolean {
    return this.rcvShutdown;
  }

  protected get sendOpen(): boolean {
    return !this.sndShutdown && !this.peerGone && this.peer !== null;
  }

  protected sendRoom(): number {
    return SOCKET_BUFFER - this.peer!.inbox.length;
  }

  protected transmit(bytes: Uint8Array): void {
    const peer = this.peer!;
    peer.inbox.push(bytes);
    peer.changed();
  }

  get acceptQueued(): number {
    return this.backlog.length;
  }

  protected sendFin(): void {
    const peer = this.peer;
    if (peer !== null) {
      peer.rcvShutdown = true;
      peer.changed();
    }
  }

  protected stopListeningForShutdown(): void {
    this.stopListening();
    this.state = 'fresh';
  }

  stat(): StatInfo {
    return objectStat(SOCKFS_DEV, this.ino, S_IFSOCK | 0o777, this.time);
  }

  /** bind(): the caller checked the address family and range. */
  bind(addr: number, port: number): void {
    if (this.local !== null || this.state !== 'fresh') throw new SysError(EINVAL, 'already bound');
    this.local = this.env.net.reserve(this, addr, port);
  }

  listen(backlog: number): void {
    const limit = this.listenBacklog(backlog);
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
  accept(statusFlags: number): TcpSocket | null {
    const s = this.backlog.shift() ?? null;
    if (s !== null) {
      s.statusFlags = statusFlags;
      this.admit();
      this.changed();
    }
    return s;
  }

  /** Starts connect(): 0 when connected, -EINPROGRESS when queued behind a full backlog, or -errno. */
  connect(to: InetAddress): number {
    const busy = this.connectable();
    if (busy !== 0) return busy;
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
    return -EINPROGRESS;
  }

  /** A waiting connect was cancelled: leave the listener's queue. */
  abandonConnect(): void {
    if (this.state !== 'connecting') return;
    this.leaveTarget();
    this.state = 'fresh';
    this.changed();
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
    server.inheritOptions(this);
    server.local = { addr, port: this.local!.port };
    this.env.net.hold(server, server.local.port);
    server.state = 'connected';
    client.state = 'connected';
    server.peer = client;
    client.peer = server;
    server.peerAddress = client.local;
    client.peerAddress = server.local;
    this.backlog.push(server);
    this.changed();
    client.changed();
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
      client.changed();
    }
    for (const server of this.backlog.splice(0)) {
      server.peer?.reset();
      server.peer = null;
      server.state = 'closed';
      if (server.local !== null) this.env.net.release(server, server.local.port);
    }
    this.changed();
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
      peer.changed();
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
    this.changed();
  }
}
