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
import { SysError } from '../../errors.js';
import { PENDING, type Call } from '../kernel.js';
import { mustNotWait, timeoutDeadline } from './blocking.js';
import type { KernelCore } from './core.js';
import { Description, type ReleaseHook, type Watcher } from './description.js';
import { readEpollEvent, writeEpollEvent, type EpollEvent } from './event-structs.js';
import type { ProcessBase } from './process.js';
import { ANON_INODE_DEV, objectStat, type StatInfo } from './stat.js';
import type { Timespec } from './time.js';

/** Linux's EP_MAX_EVENTS: maxevents above it is EINVAL. */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_SIZE);
/** Linux's EP_MAX_NESTS: epoll sets inside epoll sets, at most this deep. */
const EP_MAX_NESTS = 4;
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
 * epoll_wait re-checks each listed item; a level-triggered item that is still ready goes back to the
 * tail of the list, an edge-triggered one leaves it until its object's next wakeup (new data, room,
 * a FIN...), and a one-shot item is disarmed after one report. In the os kernel a set watches
 * descriptors of its own thread only (see os/epoll.ts).
 */
export class EpollInstance extends Description {
  private readonly items = new Map<number, EpollItem>();
  private readonly ready = new Set<EpollItem>();

  constructor(
    private readonly ino: number,
    private readonly time: Timespec,
  ) {
    super(O_RDWR);
  }

  markReady(item: EpollItem): void {
    this.ready.add(item);
    this.changed();
  }

  remove(item: EpollItem): void {
    if (this.items.get(item.fd) !== item) return;
    this.items.delete(item.fd);
    this.ready.delete(item);
    item.target.removeWatcher(item);
    item.target.removeReleaseHook(item);
  }

  ctl(op: number, fd: number, target: Description, event: EpollEvent | null): void {
    const existing = this.items.get(fd);
    if (op === EPOLL_CTL_ADD) {
      if (existing !== undefined) throw new SysError(EEXIST);
      if (target instanceof EpollInstance && (target.reaches(this) || target.depth() >= EP_MAX_NESTS)) throw new SysError(ELOOP);
      const item = new EpollItem(this, fd, target, event!);
      this.items.set(fd, item);
      target.addWatcher(item);
      target.addReleaseHook(item);
      if (item.revents() !== 0) this.markReady(item);
    } else if (op === EPOLL_CTL_MOD) {
      if (existing === undefined) throw new SysError(ENOENT);
      if ((event!.events & EPOLLEXCLUSIVE) !== 0 || (existing.event.events & EPOLLEXCLUSIVE) !== 0) throw new SysError(EINVAL);
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
    return objectStat(ANON_INODE_DEV, this.ino, 0o600, this.time);
  }

  override release(): void {
    for (const item of [...this.items.values()]) this.remove(item);
    super.release();
  }

  /** True if `other` is this set or is watched by it, directly or through nested sets. */
  private reaches(other: EpollInstance): boolean {
    if (other === this) return true;
    for (const item of this.items.values()) if (item.target instanceof EpollInstance && item.target.reaches(other)) return true;
    return false;
  }

  /** How many levels of epoll sets this one contains. */
  private depth(): number {
    let d = 0;
    for (const item of this.items.values()) if (item.target instanceof EpollInstance) d = Math.max(d, 1 + item.target.depth());
    return d;
  }
}

export function sysEpollCreate1(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
  const flags = c.a0;
  if ((flags & ~EPOLL_CLOEXEC) !== 0) return -EINVAL;
  return p.open(c.thread, new EpollInstance(k.newIno(), k.realtime()), (flags & EPOLL_CLOEXEC) !== 0);
}

/**
 * epoll_ctl(epfd, op, fd, event) once the kernel has looked up both descriptors (each kernel has its
 * own rules for which exist: see their epoll.ts). `target` is null for a descriptor epoll cannot
 * watch (a regular file or directory: EPERM, as Linux says).
 */
export function epollCtl(p: ProcessBase<unknown>, c: Call, ep: unknown, target: Description | null): number {
  const [epfd, op, fd, eventPtr] = [c.a0, c.a1, c.a2, c.a3];
  // Linux reads the event before anything else (EFAULT first), except for DEL which ignores it.
  const event = op === EPOLL_CTL_DEL ? null : readEpollEvent(p.memory, eventPtr);
  if (target === null) return -EPERM;
  if (!(ep instanceof EpollInstance) || epfd === fd) return -EINVAL;
  ep.ctl(op, fd, target, event);
  return 0;
}

export function sysEpollWait(k: KernelCore, p: ProcessBase<unknown>, c: Call): number {
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
    k.virtualTime?.pollIdleTick();
    return timeoutMs === 0 ? 0 : -EAGAIN;
  }
  return k.sched.park(p, c, {
    fd: epfd,
    on: [ep],
    attempt,
    ...timeoutDeadline(k.sched.timers, timeoutMs),
  });
}
