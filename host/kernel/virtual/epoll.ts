import {
  EAGAIN,
  EBADF,
  EEXIST,
  EINVAL,
  ELOOP,
  ENOENT,
  EPERM,
  EPOLLERR,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EPOLLHUP,
  EPOLLIN,
  EPOLLONESHOT,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_SIZE,
  O_RDWR,
} from '../../abi/v1.js';
import { SysError } from '../errors.js';
import { readEpollEvent, writeEpollEvent, type EpollEvent } from '../common/event-structs.js';
import type { StatInfo } from '../common/stat.js';
import type { Timespec } from '../common/time.js';
import { PENDING, type Call } from '../kernel.js';
import { Description, type ReleaseHook } from './description.js';
import { FileDescription, DirDescription } from './file.js';
import type { VirtualKernel } from './kernel.js';
import type { VirtualProcess } from './process.js';
import { mustNotWait, timeoutDeadline } from './blocking.js';
import type { Watcher } from './wait-queue.js';

/** Linux's EP_MAX_EVENTS: maxevents above it is EINVAL. */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_SIZE);
/** Linux's EP_MAX_NESTS: epoll sets inside epoll sets, at most this deep. */
const EP_MAX_NESTS = 4;
const ANON_INODE_DEV = 0x0d;
/** Reported whether asked for or not. */
const ALWAYS = EPOLLERR | EPOLLHUP;
/** Flag bits that are not events. */
const FLAGS = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE;

/** One watched descriptor of an epoll set. */
class EpollItem implements Watcher, ReleaseHook {
  /** EPOLLONESHOT fired: silent until EPOLL_CTL_MOD re-arms it. */
  disarmed = false;

  constructor(
    readonly set: EpollInstance,
    readonly fd: number,
    readonly target: Description,
    public event: EpollEvent,
  ) {}

  /** The target changed: queue the item for the next epoll_wait (it re-checks readiness there). */
  notify(): void {
    this.set.markReady(this);
  }

  /** The target was closed: Linux drops it from every set. */
  released(): void {
    this.set.remove(this);
  }

  /** Events to report now (0 when none). */
  revents(): number {
    if (this.disarmed) return 0;
    return this.target.poll() & ((this.event.events & ~FLAGS) | ALWAYS);
  }
}

/**
 * An epoll instance. Like Linux it keeps a ready list fed by wakeups from the watched objects:
 * epoll_wait re-checks each listed item; a level-triggered item that is still ready goes back to
 * the tail of the list, an edge-triggered one leaves it until its object's next wakeup, and a
 * one-shot item is disarmed after one report.
 */
export class EpollInstance extends Description {
  private readonly items = new Map<number, EpollItem>();
  private readonly ready = new Set<EpollItem>();
  private readonly ino: number;
  private readonly time: Timespec;

  constructor(k: VirtualKernel) {
    super(O_RDWR);
    this.ino = k.newIno();
    this.time = k.clock.realtime();
  }

  markReady(item: EpollItem): void {
    if (!this.ready.has(item)) this.ready.add(item);
    this.queue.notify();
  }

  remove(item: EpollItem): void {
    if (this.items.get(item.fd) !== item) return;
    this.items.delete(item.fd);
    this.ready.delete(item);
    item.target.queue.remove(item);
    item.target.releaseHooks.delete(item);
  }

  ctl(op: number, fd: number, target: Description, event: EpollEvent | null): void {
    const existing = this.items.get(fd);
    if (op === EPOLL_CTL_ADD) {
      if (existing !== undefined) throw new SysError(EEXIST);
      if (target instanceof EpollInstance && (target.reaches(this) || target.depth() >= EP_MAX_NESTS)) {
        throw new SysError(ELOOP);
      }
      const item = new EpollItem(this, fd, target, event!);
      this.items.set(fd, item);
      target.queue.add(item);
      target.releaseHooks.add(item);
      if (item.revents() !== 0) this.markReady(item);
    } else if (op === EPOLL_CTL_MOD) {
      if (existing === undefined) throw new SysError(ENOENT);
      if ((event!.events & EPOLLEXCLUSIVE) !== 0 || (existing.event.events & EPOLLEXCLUSIVE) !== 0) {
        throw new SysError(EINVAL);
      }
      existing.event = event!;
      existing.disarmed = false;
      if (existing.revents() !== 0) this.markReady(existing);
    } else if (op === EPOLL_CTL_DEL) {
      if (existing === undefined) throw new SysError(ENOENT);
      this.remove(existing);
    } else {
      throw new SysError(EINVAL);
    }
  }

  /** Reports up to `max` ready items (their events and data); see the class comment. */
  collect(max: number): EpollEvent[] {
    const out: EpollEvent[] = [];
    const again: EpollItem[] = [];
    for (const item of this.ready) {
      if (out.length >= max) break;
      this.ready.delete(item);
      const events = item.revents();
      if (events === 0) continue;
      out.push({ events, dataLo: item.event.dataLo, dataHi: item.event.dataHi });
      if ((item.event.events & EPOLLONESHOT) !== 0) item.disarmed = true;
      else if ((item.event.events & EPOLLET) === 0) again.push(item);
    }
    for (const item of again) this.ready.add(item);
    return out;
  }

  /** Readable when an item has something to report (epoll sets can be watched themselves). */
  poll(): number {
    for (const item of this.ready) if (item.revents() !== 0) return EPOLLIN;
    return 0;
  }

  stat(): StatInfo {
    return {
      dev: ANON_INODE_DEV,
      ino: this.ino,
      nlink: 1,
      mode: 0o600,
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

  override release(): void {
    for (const item of [...this.items.values()]) this.remove(item);
    super.release();
  }

  /** True if `other` is this set or is watched by it, directly or through nested sets. */
  private reaches(other: EpollInstance): boolean {
    if (other === this) return true;
    for (const item of this.items.values()) {
      if (item.target instanceof EpollInstance && item.target.reaches(other)) return true;
    }
    return false;
  }

  /** How many levels of epoll sets this one contains. */
  private depth(): number {
    let d = 0;
    for (const item of this.items.values()) {
      if (item.target instanceof EpollInstance) d = Math.max(d, 1 + item.target.depth());
    }
    return d;
  }
}

export function sysEpollCreate1(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const flags = c.a0;
  if ((flags & ~EPOLL_CLOEXEC) !== 0) return -EINVAL;
  return p.open(c.thread, new EpollInstance(k), (flags & EPOLL_CLOEXEC) !== 0);
}

export function sysEpollCtl(_k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [epfd, op, fd, eventPtr] = [c.a0, c.a1, c.a2, c.a3];
  const ep = p.fds.lookup(epfd);
  const target = p.fds.lookup(fd);
  // Linux reads the event before anything else (EFAULT first), except for DEL which ignores it.
  const event = op === EPOLL_CTL_DEL ? null : readEpollEvent(p.memory, eventPtr);
  if (target instanceof FileDescription || target instanceof DirDescription) return -EPERM;
  if (!(ep instanceof EpollInstance) || epfd === fd) return -EINVAL;
  ep.ctl(op, fd, target, event);
  return 0;
}

export function sysEpollWait(k: VirtualKernel, p: VirtualProcess, c: Call): number {
  const [epfd, eventsPtr, maxevents, timeoutMs] = [c.a0, c.a1, c.a2, c.a3];
  if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) return -EINVAL;
  const ep = p.fds.get(epfd)?.value;
  if (ep === undefined) return -EBADF;
  if (!(ep instanceof EpollInstance)) return -EINVAL;
  p.memory.check(eventsPtr, maxevents * EPOLL_EVENT_SIZE);
  const attempt = (): number => {
    const events = ep.collect(maxevents);
    events.forEach((e, i) => writeEpollEvent(p.memory, eventsPtr, i, e));
    return events.length > 0 ? events.length : PENDING;
  };
  const r = attempt();
  if (r !== PENDING) return r;
  if (timeoutMs === 0 || mustNotWait(c)) {
    k.pollIdleTick();
    return timeoutMs === 0 ? 0 : -EAGAIN;
  }
  return k.sched.park(p, c, {
    fd: epfd,
    queues: [ep.queue],
    attempt,
    ...timeoutDeadline(k, timeoutMs),
  });
}
