import {
  EAGAIN,
  EALREADY,
  ECONNREFUSED,
  EINVAL,
  EISCONN,
  ENOTCONN,
  EPIPE,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { ByteQueue } from './byte-queue.js';
import { Description } from './description.js';
import type { ByteSink, ByteSource } from './iovec.js';
import type { InetAddress } from './sockaddr.js';

/** Linux's net.core.somaxconn: listen() backlogs are capped here. */
export const SOMAXCONN = 4096;

/**
 * - fresh: no connection (never connected, or a connect that failed), bound or not;
 * - listening, connecting, connected;
 * - closed: was connected, and the connection is over (reset, or both sides closed).
 */
export type TcpState = 'fresh' | 'listening' | 'connecting' | 'connected' | 'closed';

/**
 * What is the same in both kernels' AF_INET stream sockets: the state machine as the guest sees it
 * (Linux's TCP: a FIN lets the guest read what is buffered then end of file; a pending error is
 * reported once), the socket options, and readiness as tcp_poll computes it. Where the bytes go is
 * the kernel's business: to a peer socket's queue in the virtual loopback network, or to a
 * net.Socket in the os kernel. Subclasses say so through the abstract members.
 */
export abstract class TcpSocketBase extends Description {
  state: TcpState = 'fresh';
  /** Our address once bound (by bind, listen or connect), and the peer's while connected. */
  local: InetAddress | null = null;
  peerAddress: InetAddress | null = null;
  /** sk_err: reported once by the next read, write, connect or SO_ERROR. */
  pendingError = 0;
  /** RCV_SHUTDOWN by our SHUT_RD (the virtual kernel also sets it for the peer's FIN or a reset). */
  rcvShutdown = false;
  /** SEND_SHUTDOWN: our SHUT_WR (or, in the virtual kernel, a reset). */
  sndShutdown = false;

  // Options (common/sockopts.ts reads and sets them; a kernel may apply them, see optionChanged).
  reuseAddr = false;
  keepAlive = false;
  noDelay = false;
  sndBuf: number;
  rcvBuf: number;

  constructor(statusFlags: number, sndBuf: number, rcvBuf: number) {
    super(O_RDWR, statusFlags);
    this.sndBuf = sndBuf;
    this.rcvBuf = rcvBuf;
  }

  /** Received bytes the guest has not read yet (null: none so far). */
  protected abstract get received(): ByteQueue | null;
  /** The guest took bytes from `received`: make room upstream. */
  protected abstract consumed(): void;
  /** No more bytes will arrive (our SHUT_RD, or the peer's FIN). */
  protected abstract get inputEnded(): boolean;
  /** Connected, and the way out is open (not shut down, the peer or host socket still there). */
  protected abstract get sendOpen(): boolean;
  /** Bytes a write may hand over now (<= 0: full). */
  protected abstract sendRoom(): number;
  /** Hands bytes over (the caller checked the room); they belong to the socket from now on. */
  protected abstract transmit(bytes: Uint8Array): void;
  /** Listening: connections waiting for accept(). */
  abstract get acceptQueued(): number;
  /** Takes the oldest connection waiting for accept() as a new socket (null when none). */
  abstract accept(statusFlags: number): TcpSocketBase | null;
  /** Starts connect(): 0 when connected, -EINPROGRESS when under way (the caller waits or reports it), or -errno. */
  abstract connect(to: InetAddress): number;
  /** A waiting connect was cancelled: give up the attempt (the socket can connect again). */
  abstract abandonConnect(): void;
  /** SHUT_WR: the peer reads end of file once it has read what we sent. */
  protected abstract sendFin(): void;
  /** shutdown(SHUT_RD or SHUT_RDWR) of a listener: it stops listening (the state is then fresh). */
  protected abstract stopListeningForShutdown(): void;

  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Takes and clears the pending error (SO_ERROR). */
  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  /** What getsockname reports (null: 0.0.0.0:0). */
  get sockname(): InetAddress | null {
    return this.local;
  }

  /** SO_REUSEADDR as getsockopt reports it. */
  get reportedReuseAddr(): boolean {
    return this.reuseAddr;
  }

  /** setsockopt changed option `name` of `level`: apply it (the os kernel applies some to the host socket). */
  optionChanged(_level: number, _name: number): void {}

  /** Gives a socket created by accept() the options of its listener, as Linux does. */
  inheritOptions(from: TcpSocketBase): void {
    this.reuseAddr = from.reuseAddr;
    this.keepAlive = from.keepAlive;
    this.noDelay = from.noDelay;
    this.sndBuf = from.sndBuf;
    this.rcvBuf = from.rcvBuf;
  }

  override read(sink: ByteSink, peek: boolean): number {
    if (this.state === 'fresh' || this.state === 'listening') return -ENOTCONN;
    if (this.state === 'connecting') return -EAGAIN;
    if (sink.length === 0) return 0;
    const q = this.received;
    if (q !== null && q.length > 0) {
      const n = q.copyTo(sink, peek);
      if (!peek) this.consumed();
      return n;
    }
    if (this.pendingError !== 0) return -this.takeError();
    if (this.inputEnded || this.state === 'closed') return 0;
    return -EAGAIN;
  }

  override write(source: ByteSource, start: number): number {
    // A write that already moved bytes reports them and leaves the error for the next call (Linux).
    if (this.pendingError !== 0) return start > 0 ? -this.pendingError : -this.takeError();
    if (this.state === 'connecting') return -EAGAIN;
    if (this.state !== 'connected' || !this.sendOpen) return -EPIPE;
    const left = source.length - start;
    if (left === 0) return 0;
    const room = this.sendRoom();
    if (room <= 0) return -EAGAIN;
    const n = Math.min(room, left);
    this.transmit(source.read(start, n));
    return n;
  }

  /** Readiness as Linux's tcp_poll computes it. */
  poll(): number {
    if (this.state === 'listening') return this.acceptQueued > 0 ? POLLIN : 0;
    let mask = 0;
    const inputEnded = this.inputEnded;
    if ((inputEnded && this.sndShutdown) || this.state === 'fresh' || this.state === 'closed') mask |= POLLHUP;
    if (inputEnded || this.state === 'closed') mask |= POLLIN | POLLRDHUP;
    if (this.state !== 'connecting') {
      if ((this.received?.length ?? 0) > 0) mask |= POLLIN;
      if (this.state !== 'connected' || !this.sendOpen) mask |= POLLOUT;
      else if (this.sendRoom() > 0) mask |= POLLOUT;
    }
    if (this.pendingError !== 0) mask |= POLLERR;
    return mask;
  }

  /** connect() on a socket that is not fresh: -EISCONN or -EALREADY; 0 when it may connect. */
  protected connectable(): number {
    switch (this.state) {
      case 'connected':
      case 'closed':
      case 'listening':
        return -EISCONN;
      case 'connecting':
        return -EALREADY;
      case 'fresh':
        return 0;
    }
  }

  /** A waiting connect's outcome: 0, -EAGAIN while still waiting, or the error that ended it. */
  connectOutcome(): number {
    if (this.state === 'connected' || this.state === 'closed') return 0;
    if (this.state === 'connecting') return -EAGAIN;
    const e = this.takeError();
    return e !== 0 ? -e : -ECONNREFUSED;
  }

  /** listen(): EINVAL unless fresh or listening; the backlog read as unsigned and capped. */
  protected listenBacklog(backlog: number): number {
    if (this.state !== 'fresh' && this.state !== 'listening') throw new SysError(EINVAL);
    // Like Linux, a negative backlog means "the maximum".
    return Math.min(backlog >>> 0, SOMAXCONN);
  }

  shutdown(how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw new SysError(EINVAL);
    if (this.state === 'listening') {
      // Linux: shutting down the read side of a listener stops it listening (the port stays bound).
      if (how !== SHUT_WR) this.stopListeningForShutdown();
      return;
    }
    if (this.state !== 'connected') throw new SysError(ENOTCONN);
    if (how !== SHUT_WR) this.rcvShutdown = true;
    if (how !== SHUT_RD && !this.sndShutdown) {
      this.sndShutdown = true;
      this.sendFin();
    }
    this.changed();
  }
}
