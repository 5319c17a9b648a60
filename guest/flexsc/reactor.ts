// The readiness reactor behind the `sync` and `epoll` modes: the same requests and handlers as the
// exception-less path, executed the traditional way. A call that could wait is tried with NOWAIT;
// on -EAGAIN it parks until epoll reports its descriptor ready (edge-triggered, registered once per
// descriptor), then it is retried. Timeouts live in a deadline list that bounds epoll_wait.
// In sync mode epoll_wait blocks inside the `syscall` import; in epoll mode the guest instead hands
// the wait to the host and returns to the host's event loop (`yield`), to be resumed later.

import {
  SYS_close, SYS_connect, SYS_poll, SYS_epoll_wait, SYS_epoll_ctl, SYS_epoll_create1, SYS_getsockopt,
  SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime,
  EF_NOWAIT, MODE_EPOLL, EAGAIN, EINPROGRESS, EBADF, ECANCELED, EINVAL,
  EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR, EPOLLET,
  EPOLL_EVENT_SIZE, SOL_SOCKET, SO_ERROR, CLOCK_MONOTONIC, CLOCK_REALTIME, TIMER_ABSTIME,
} from "./abi";
import { Request, RequestQueue, RQ_IDLE, RQ_READY, RQ_PARKED, RQ_TIMER } from "./request";
import { execSync, startSync, takeSync, mode } from "./pages";

/** Parked calls of one descriptor, by direction, in submission order. */
class Waiters {
  readers: RequestQueue = new RequestQueue();
  writers: RequestQueue = new RequestQueue();
  registered: bool = false;
}

const EVENTS_MAX: i32 = 64;
let epfd: i32 = -1;
let events: usize = 0;
let scratch: usize = 0;
const waiters = new Map<i32, Waiters>();
let parkedCount: i32 = 0;
/** Pending timeouts sorted by deadline (equal deadlines keep submission order). */
const timers = new RequestQueue();
/** epoll mode: an epoll_wait was handed to the host and the guest returned to it. */
let suspended: bool = false;

/** Step results. */
export const STEP_IDLE: i32 = 0; // nothing parked, no timers: nothing more can happen
export const STEP_PROGRESS: i32 = 1;
export const STEP_SUSPEND: i32 = 2; // epoll mode: return to the host now

export function reactorInit(): i32 {
  events = heap.alloc(<usize>EVENTS_MAX * EPOLL_EVENT_SIZE);
  scratch = heap.alloc(32);
  const r = execSync(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0, 0);
  if (r < 0) return <i32>r;
  epfd = <i32>r;
  return 0;
}

export function reactorPending(): i32 {
  return parkedCount + timers.length;
}

function finish(r: Request, result: i64, ready: RequestQueue): void {
  r.result = result;
  if (r._anon) {
    r._state = RQ_IDLE;
  } else {
    r._state = RQ_READY;
    ready.push(r);
  }
}

@inline function run(r: Request, flags: i32): i64 {
  return execSync(r._nr, r._a0, r._a1, r._a2, r._a3, r._a4, r._a5, flags);
}

/** One non-blocking try. A connect already in progress asks SO_ERROR instead of connecting again. */
function attempt(r: Request): i64 {
  if (r._connecting) {
    store<i32>(scratch, 0);
    store<i32>(scratch + 8, 4);
    const g = execSync(SYS_getsockopt, r._fd, SOL_SOCKET, SO_ERROR, <i32>scratch, <i32>(scratch + 8), 0, 0);
    if (g < 0) return g;
    const err = load<i32>(scratch);
    return err == 0 ? 0 : -err;
  }
  return run(r, EF_NOWAIT);
}

export function reactorSubmit(r: Request, ready: RequestQueue): void {
  const nr = r._nr;
  if (nr == SYS_nanosleep || nr == SYS_clock_nanosleep) {
    armTimer(r, ready);
    return;
  }
  if (nr == SYS_close) forget(r._a0, ready);
  // Prompt calls, calls without a descriptor, and the program's own poll/epoll_wait run as they are.
  if (r._waits == 0 || r._fd < 0 || nr == SYS_poll || nr == SYS_epoll_wait) {
    finish(r, run(r, 0), ready);
    return;
  }
  if (waiters.has(r._fd)) {
    const w = waiters.get(r._fd);
    const q = r._waits == 2 ? w.readers : w.writers;
    if (q.length > 0) {
      // Keep order: a read must not overtake an earlier parked read on the same descriptor.
      park(r, w, q, ready);
      return;
    }
  }
  const res = attempt(r);
  if (res == -EAGAIN || (nr == SYS_connect && res == -EINPROGRESS)) {
    if (nr == SYS_connect) r._connecting = true;
    const w = waitersOf(r._fd);
    park(r, w, r._waits == 2 ? w.readers : w.writers, ready);
    return;
  }
  finish(r, res, ready);
}

function waitersOf(fd: i32): Waiters {
  if (waiters.has(fd)) return waiters.get(fd);
  const w = new Waiters();
  waiters.set(fd, w);
  return w;
}

function park(r: Request, w: Waiters, q: RequestQueue, ready: RequestQueue): void {
  if (!w.registered) {
    // Edge-triggered, both directions, once per descriptor: epoll reports readiness already present
    // at registration, and every later edge; parked calls are retried until they would block again.
    store<u32>(scratch, <u32>(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
    store<u64>(scratch + 4, <u64><u32>r._fd);
    const c = execSync(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, r._fd, <i32>scratch, 0, 0, 0);
    if (c < 0) {
      finish(r, r._nr == SYS_connect ? -EINPROGRESS : -EAGAIN, ready);
      return;
    }
    w.registered = true;
  }
  r._state = RQ_PARKED;
  q.push(r);
  parkedCount++;
}

/** The descriptor is being closed: its parked calls fail with -EBADF. */
function forget(fd: i32, ready: RequestQueue): void {
  if (!waiters.has(fd)) return;
  const w = waiters.get(fd);
  failAll(w.readers, ready);
  failAll(w.writers, ready);
  waiters.delete(fd);
}

function failAll(q: RequestQueue, ready: RequestQueue): void {
  while (true) {
    const r = q.shift();
    if (!r) break;
    parkedCount--;
    finish(r, -EBADF, ready);
  }
}

function retry(q: RequestQueue, ready: RequestQueue): void {
  while (true) {
    const r = q.head;
    if (!r) break;
    const res = attempt(r);
    if (res == -EAGAIN) break;
    q.shift();
    parkedCount--;
    finish(r, res, ready);
  }
}

function dispatch(n: i32, ready: RequestQueue): void {
  for (let i = 0; i < n; i++) {
    const ev = events + <usize>i * EPOLL_EVENT_SIZE;
    const mask = load<u32>(ev);
    const fd = <i32>load<u64>(ev + 4);
    if (!waiters.has(fd)) continue;
    const w = waiters.get(fd);
    if (mask & <u32>(EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) retry(w.readers, ready);
    if (mask & <u32>(EPOLLOUT | EPOLLHUP | EPOLLERR)) retry(w.writers, ready);
  }
}

function clockNs(clock: i32): i64 {
  const r = execSync(SYS_clock_gettime, clock, <i32>(scratch + 16), 0, 0, 0, 0, 0);
  if (r < 0) return 0;
  return load<i64>(scratch + 16) * 1_000_000_000 + load<i64>(scratch + 24);
}

function monotonicNs(): i64 {
  return clockNs(CLOCK_MONOTONIC);
}

function armTimer(r: Request, ready: RequestQueue): void {
  // nanosleep(duration, remaining) or clock_nanosleep(clockid, flags, time, remaining)
  // Like the kernel: an unknown clock fails first (EINVAL), then a timespec outside memory (EFAULT).
  const clock = r._nr == SYS_clock_nanosleep ? r._a0 : CLOCK_MONOTONIC;
  if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME) {
    finish(r, -EINVAL, ready);
    return;
  }
  const absolute = r._nr == SYS_clock_nanosleep && (r._a1 & TIMER_ABSTIME) != 0;
  const ts = <usize><u32>(r._nr == SYS_nanosleep ? r._a0 : r._a2);
  const memBytes = <usize>memory.size() << 16;
  if (ts > memBytes - 16) {
    // (compared this way round: `ts + 16` wraps around for pointers near 4 GiB)
    finish(r, -14, ready); // EFAULT
    return;
  }
  const sec = load<i64>(ts);
  const nsec = load<i64>(ts + 8);
  if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) {
    finish(r, -EINVAL, ready);
    return;
  }
  // Saturates (a span that long never ends) instead of overflowing, as the kernel does.
  const span: i64 = sec >= 4_000_000_000 ? <i64>0x3fff_ffff_ffff_ffff : sec * 1_000_000_000 + nsec;
  const now = monotonicNs();
  // An absolute CLOCK_REALTIME time becomes a monotonic deadline through the realtime clock's offset.
  if (!absolute) r._deadline = now + span;
  else if (clock == CLOCK_MONOTONIC) r._deadline = span;
  else r._deadline = now + (span - clockNs(CLOCK_REALTIME));
  r._state = RQ_TIMER;
  // Sorted insert, after equal deadlines.
  let prev: Request | null = null;
  let cur = timers.head;
  while (cur && cur._deadline <= r._deadline) {
    prev = cur;
    cur = cur._next;
  }
  if (!prev) {
    r._next = timers.head;
    timers.head = r;
    if (!timers.tail) timers.tail = r;
  } else {
    r._next = prev._next;
    prev._next = r;
    if (timers.tail === prev) timers.tail = r;
  }
  timers.length++;
}

function fireDue(ready: RequestQueue): void {
  if (timers.length == 0) return;
  const now = monotonicNs();
  while (true) {
    const head = timers.head;
    if (!head || head._deadline > now) break;
    timers.shift();
    finish(head, 0, ready);
  }
}

/** Cancels a parked call or a timeout: it completes with -ECANCELED. */
export function reactorCancel(r: Request, ready: RequestQueue): i32 {
  if (r._state == RQ_TIMER) {
    timers.remove(r);
  } else {
    if (!waiters.has(r._fd)) return -EINVAL;
    const w = waiters.get(r._fd);
    if (!w.readers.remove(r) && !w.writers.remove(r)) return -EINVAL;
    parkedCount--;
  }
  finish(r, -ECANCELED, ready);
  return 0;
}

/** Waits for readiness or the next deadline, then retries what became ready. */
export function reactorStep(ready: RequestQueue): i32 {
  if (parkedCount == 0 && timers.length == 0) return STEP_IDLE;
  let timeoutMs: i32 = -1;
  if (timers.length > 0) {
    fireDue(ready);
    if (ready.length > 0) return STEP_PROGRESS;
    const head = timers.head!;
    const left = head._deadline - monotonicNs();
    timeoutMs = left <= 0 ? 0 : <i32>min<i64>((left + 999_999) / 1_000_000, 0x7fffffff);
  }
  let n: i64;
  if (mode() == MODE_EPOLL) {
    if (startSync(SYS_epoll_wait, epfd, <i32>events, EVENTS_MAX, timeoutMs, 0, 0) == 1) {
      suspended = true;
      return STEP_SUSPEND;
    }
    n = takeSync();
  } else {
    n = execSync(SYS_epoll_wait, epfd, <i32>events, EVENTS_MAX, timeoutMs, 0, 0, 0);
  }
  if (n > 0) dispatch(<i32>n, ready);
  fireDue(ready);
  return STEP_PROGRESS;
}

/**
 * A non-blocking step, between batches of handlers: retries the parked calls whose descriptors
 * became ready (epoll_wait with a zero timeout, which never waits or suspends) and fires due timers.
 */
export function reactorPoll(ready: RequestQueue): void {
  if (parkedCount > 0) {
    const n = execSync(SYS_epoll_wait, epfd, <i32>events, EVENTS_MAX, 0, 0, 0, 0);
    if (n > 0) dispatch(<i32>n, ready);
  }
  fireDue(ready);
}

/** epoll mode: the host resumed us after the epoll_wait it ran for us completed. */
export function reactorResume(ready: RequestQueue): void {
  if (!suspended) return;
  suspended = false;
  const n = takeSync();
  if (n > 0) dispatch(<i32>n, ready);
  fireDue(ready);
}
