// libflexsc's core: submission, cancellation, throttling, and the main loop (paper section 4).

import { MODE_EXCEPTIONLESS, EBUSY, ENOSYS, EALREADY, EINVAL, ECANCELED } from "./abi";
import { Request, RequestQueue, RQ_IDLE, RQ_QUEUED, RQ_POSTED, RQ_READY, RQ_PARKED, RQ_TIMER } from "./request";
import {
  DEFAULT_PAGES, DEFAULT_PAGE_LIMIT, pagesInit, registration, threadCount, mode, threadFor, canPost, post, harvest, cancelPosted,
  waitCompletions, shutdownRequested, countThrottled, countHandler, countLocalCancel, inFlight,
} from "./pages";
import {
  reactorInit, reactorSubmit, reactorCancel, reactorStep, reactorPoll, reactorResume, STEP_IDLE, STEP_SUSPEND,
} from "./reactor";

/** Exit status when the host asked the guest to stop (like a shell's 128 + SIGINT). */
export const EXIT_INTERRUPTED: i32 = 130;

/** A graceful stop: runs once when the host asks the guest to stop, instead of ending the loop. */
let shutdownHook: (() => void) | null = null;
let shutdownSeen: bool = false;

/**
 * Asks for a graceful stop: when the host asks the guest to stop (Ctrl-C, SIGTERM, `guest.kill`),
 * `fn` runs once from the loop, which then goes on until nothing is left in flight, so the program
 * can stop accepting, finish what it started and flush what it buffered (the host's grace period is
 * the deadline: it terminates the guest when that passes). Without it the loop returns 130 at once.
 */
export function onShutdown(fn: () => void): void {
  shutdownHook = fn;
}

/** How long one wait inside Wasm may last before the loop looks around again (bounded on purpose). */
const WAIT_NS: i64 = 50_000_000;

/** Requests whose calls completed, in completion order; their handlers run from the loop. */
const ready = new RequestQueue();
/** Per syscall thread: calls accepted while every entry of that thread was busy. */
let throttled = new StaticArray<RequestQueue>(0);
let throttledCount: i32 = 0;
/** epoll mode: the loop handed control back to the host and waits for flexsc_resume. */
let suspendedLoop: bool = false;

/**
 * Lays out `pages` syscall pages (64 entries each) and registers with the host. When a syscall
 * thread's entries run out, more pages are registered at run time, up to `maxPages` in all (and the
 * host's --max-pages); past that, calls wait for an entry. Optional: the first submission
 * initialises with the defaults (64 pages, at most 1,024). Returns 0 or -errno if the host refused.
 */
export function init(pages: i32 = DEFAULT_PAGES, maxPages: i32 = DEFAULT_PAGE_LIMIT): i32 {
  const r = pagesInit(pages, maxPages);
  if (r < 0) return r;
  const n = threadCount();
  throttled = new StaticArray<RequestQueue>(n);
  for (let t = 0; t < n; t++) unchecked((throttled[t] = new RequestQueue()));
  if (mode() != MODE_EXCEPTIONLESS) return reactorInit();
  return 0;
}

/**
 * Registers with the default number of pages unless init() ran: every submission and synchronous
 * call does this first, so init() is only needed to choose the number of pages (and must come
 * before the first call; afterwards it returns -EALREADY). 0 once registered, or -errno.
 */
export function ensureInit(): i32 {
  if (registration() == 1) init(DEFAULT_PAGES, DEFAULT_PAGE_LIMIT);
  return registration();
}

/**
 * The thread a poll goes to: the one that owns its first descriptor (a poll over descriptors of
 * several threads cannot work with the os kernel, which keeps each socket on its thread). -1 (any
 * thread) when there is none, or when the array is not in memory: the kernel then answers EFAULT.
 */
export function firstPollFd(fds: usize, nfds: u32): i32 {
  if (nfds == 0 || fds + 4 > (<usize>memory.size() << 16)) return -1;
  return load<i32>(fds);
}

/**
 * Submits one call (the generated wrappers in calls.ts call this). Returns 0 when the call is
 * accepted: its handler will run exactly once, from the loop. Returns -errno when it is refused
 * (the library is not registered, or `req` is still in flight): nothing will call back.
 * `fd` orders and routes the call (-1: none); `waits` is its waiting class (0, 1 room, 2 event).
 */
export function submit(
  req: Request | null, nr: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, fd: i32, waits: i32,
): i32 {
  if (ensureInit() != 0) return -ENOSYS;
  let r: Request;
  if (req === null) {
    r = new Request();
    r._anon = true;
  } else {
    if (req._state != RQ_IDLE) return -EBUSY;
    r = req;
  }
  r._nr = nr;
  r._a0 = a0;
  r._a1 = a1;
  r._a2 = a2;
  r._a3 = a3;
  r._a4 = a4;
  r._a5 = a5;
  r._fd = fd;
  r._waits = waits;
  r._connecting = false;
  r._thread = threadFor(fd);
  if (mode() != MODE_EXCEPTIONLESS) {
    reactorSubmit(r, ready);
    return 0;
  }
  const t = r._thread;
  const q = unchecked(throttled[t]);
  if (q.length == 0 && canPost(t, waits)) {
    post(r);
    return 0;
  }
  // Section 7's throttling: every entry of the thread is busy; keep the call until one frees up.
  r._state = RQ_QUEUED;
  q.push(r);
  throttledCount++;
  countThrottled();
  drain(t);
  return 0;
}

/**
 * Posts throttled calls of thread `t` that fit now. A call that cannot get an entry of its class
 * does not hold back calls on other descriptors (so writes and closes pass a wall of pending
 * reads), but later calls on its own descriptor stay behind it (per-descriptor order).
 */
function drain(t: i32): void {
  const q = unchecked(throttled[t]);
  let prev: Request | null = null;
  let cur = q.head;
  let held: Array<i32> | null = null;
  while (cur) {
    const next = cur._next;
    let blocked = false;
    if (cur._fd >= 0 && held !== null) blocked = held.includes(cur._fd);
    if (!blocked && canPost(t, cur._waits)) {
      q.unlink(prev, cur);
      throttledCount--;
      post(cur);
    } else {
      if (!canPost(t, 0)) break; // no entry at all
      if (cur._fd >= 0) {
        if (held === null) held = new Array<i32>();
        held.push(cur._fd);
      }
      prev = cur;
    }
    cur = next;
  }
}

function drainAll(): void {
  if (throttledCount == 0) return;
  const n = threadCount();
  for (let t = 0; t < n; t++) if (unchecked(throttled[t]).length > 0) drain(t);
}

/**
 * Cancels a call in flight (paper section 4.2). Returns 0 when cancellation was requested: the
 * handler still runs exactly once, with -ECANCELED if cancellation won or the call's own result if
 * the call completed first. Returns -EALREADY if the call already completed (its handler is about to
 * run) and -EINVAL if the request is not in flight.
 */
export function cancel(req: Request): i32 {
  const s = req._state;
  if (s == RQ_QUEUED) {
    unchecked(throttled[req._thread]).remove(req);
    throttledCount--;
    req.result = -ECANCELED;
    req._state = RQ_READY;
    ready.push(req);
    countLocalCancel();
    return 0;
  }
  if (s == RQ_POSTED) return cancelPosted(req);
  if (s == RQ_PARKED || s == RQ_TIMER) {
    const rc = reactorCancel(req, ready);
    if (rc == 0) countLocalCancel();
    return rc;
  }
  if (s == RQ_READY) return -EALREADY;
  return -EINVAL;
}

/**
 * sync and epoll modes: handlers run before the reactor looks at readiness and timers again
 * (without waiting) while handlers keep becoming ready. A prompt call completes inside its
 * submission there, so a busy connection whose reads always find data could otherwise keep the
 * ready queue from ever emptying, and the calls parked on other descriptors would starve.
 */
const REACTOR_EVERY: i32 = 64;
let handlersSincePoll: i32 = 0;

/**
 * Runs one batch: the handlers ready now. Handlers that become ready meanwhile run in the next
 * batch, so that the loop can look around in between. Returns how many ran.
 */
function runReady(): i32 {
  const n = ready.length;
  for (let i = 0; i < n; i++) {
    const r = ready.shift();
    if (!r) return i;
    r._state = RQ_IDLE;
    countHandler();
    const h = r.handler;
    if (h) h(r);
  }
  return n;
}

/** Loop result when the guest returned to the host (epoll mode) and will be resumed. */
export const LOOP_SUSPENDED: i32 = -1;

/**
 * The event loop: runs ready handlers; when none is left, polls the pages for completions; when
 * nothing completed, waits inside Wasm on the completions word. Returns the exit status when there is
 * nothing left to do (no call in flight, none queued): 0, or 130 if the host asked the guest to stop.
 * In epoll mode it may return LOOP_SUSPENDED: the host resumes it through `flexsc_resume`.
 */
export function mainLoop(): i32 {
  if (ensureInit() != 0) return 1;
  if (suspendedLoop) {
    suspendedLoop = false;
    reactorResume(ready);
  }
  const exceptionless = mode() == MODE_EXCEPTIONLESS;
  while (true) {
    if (!shutdownSeen && shutdownRequested() != 0) {
      const hook = shutdownHook;
      if (hook === null) return EXIT_INTERRUPTED;
      shutdownSeen = true;
      hook();
    }
    if (ready.length > 0) {
      handlersSincePoll += runReady();
      if (!exceptionless && handlersSincePoll >= REACTOR_EVERY) {
        handlersSincePoll = 0;
        reactorPoll(ready);
      }
      continue;
    }
    if (!exceptionless) {
      handlersSincePoll = 0;
      const step = reactorStep(ready);
      if (step == STEP_IDLE) break;
      if (step == STEP_SUSPEND) {
        suspendedLoop = true;
        return LOOP_SUSPENDED;
      }
      continue;
    }
    if (inFlight() == 0 && throttledCount == 0) break;
    if (harvest(ready) > 0) {
      drainAll();
      continue;
    }
    waitCompletions(ready, WAIT_NS);
    // Entries freed by what the wait collected go to throttled calls, also when every call collected
    // was fire-and-forget (those never reach `ready`).
    drainAll();
  }
  return 0;
}

/**
 * One non-blocking turn for programs with their own loop: collects completions and runs the ready
 * handlers. Returns the number of handlers run.
 */
export function runOnce(): i32 {
  if (ensureInit() != 0) return 0;
  if (mode() == MODE_EXCEPTIONLESS && inFlight() > 0) {
    if (harvest(ready) > 0) drainAll();
  }
  let n = 0;
  while (ready.length > 0) {
    n += ready.length;
    runReady();
  }
  return n;
}

/** Calls in flight or waiting for an entry (excluding handlers that are ready to run). */
export function pending(): i32 {
  return inFlight() + throttledCount;
}
