// The syscall pages and the control block: registration, posting entries, harvesting completions,
// cancelling, waiting. This file is the guest half of the protocol in abi/README.md.

import {
  ABI_VERSION, MAGIC, ENTRY_SIZE, ENTRIES_PER_PAGE, PAGE_SIZE, MAX_PAGES, CTRL_FIXED_SIZE, THREAD_LINES,
  ST_FREE, ST_SUBMITTED, ST_BUSY, ST_DONE, ST_CANCEL, MODE_EXCEPTIONLESS,
  E_STATUS, E_SYSNO, E_ARG0, E_ARG1, E_ARG2, E_ARG3, E_ARG4, E_ARG5, E_RET, E_RET_HI, E_USER, E_FLAGS, E_SEQ, E_THREAD,
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_THREAD_COUNT, C_MODE, C_PID,
  C_COMPLETIONS, C_GUEST_WAITING, C_SHUTDOWN,
  C_G_SUBMITTED, C_G_POLLS, C_G_WAITS, C_G_DOORBELLS, C_G_CANCELS, C_G_THROTTLED, C_G_HANDLERS, C_G_SYNC_CALLS,
  T_SQ_TAIL, T_CANCEL_TAIL, T_DOORBELL, T_NEEDS_WAKEUP,
  EINVAL, EALREADY, ENOSYS,
} from "./abi";
import { Request, RequestQueue, RQ_POSTED, RQ_READY } from "./request";
import { host_register, host_syscall, host_yield } from "./host";

/** Completion-word polls before the guest sleeps in waitCompletions (roughly 1-2 µs). */
const SPIN_POLLS: i32 = 512;

/** Default number of syscall pages: 64 pages of 64 entries = 4,096 calls in flight. */
export const DEFAULT_PAGES: i32 = 64;

let ctrl: usize = 0;
let pagesPtr: usize = 0;
let pageCount: i32 = 0;
let threads: i32 = 1;
let hostMode: i32 = MODE_EXCEPTIONLESS;
let pid: i32 = 0;
let pageSub: usize = 0;
let pageDone: usize = 0;
let registerResult: i32 = 1; // 1: not yet registered; 0: registered; < 0: refused

// Per-page: last page_done hint seen, and entries in flight.
let seenDone = new StaticArray<i32>(0);
let inflightInPage = new StaticArray<i32>(0);
// Per-entry: the request posted in it (null for fire-and-forget calls, which use an anonymous request).
let requestOf = new StaticArray<Request | null>(0);
// Per-thread free stacks, packed in one array: thread t uses [freeBase[t], freeBase[t] + cap).
let freeStack = new StaticArray<i32>(0);
let freeBase = new StaticArray<i32>(0);
let freeTop = new StaticArray<i32>(0);
// Per-thread budget for calls that may wait indefinitely (the rest is kept for calls that finish,
// so that a guest with every entry holding a read can still write, close and open: section 7).
let eventBusy = new StaticArray<i32>(0);
let eventCap = new StaticArray<i32>(0);
let sqTail = new StaticArray<i32>(0);
let cancelTail = new StaticArray<i32>(0);
let inflight: i32 = 0;
let anyThread: i32 = 0;
let syncEntryIndex: i32 = -1;

@inline function entryAddr(index: i32): usize {
  return pagesPtr + <usize>index * ENTRY_SIZE;
}
@inline function threadLine(t: i32): usize {
  return ctrl + THREAD_LINES + <usize>t * 64;
}
@inline function bump(field: usize): void {
  store<i32>(ctrl + field, load<i32>(ctrl + field) + 1);
}
function align(p: usize, a: usize): usize {
  return (p + a - 1) & ~(a - 1);
}

/**
 * Lays out the control block and `pages` syscall pages in linear memory and registers them with
 * the host (the one import the exception-less path makes). Returns 0, or -errno if the host refused.
 */
export function pagesInit(pages: i32): i32 {
  if (registerResult <= 0) return registerResult == 0 ? -EALREADY : registerResult;
  if (pages < 1 || pages > MAX_PAGES) return -EINVAL;
  const hints = <usize>align(<usize>pages * 4, 64);
  const size = <usize>CTRL_FIXED_SIZE + 2 * hints;
  // Never freed: the host keeps pointers into these for the guest's lifetime.
  ctrl = align(heap.alloc(size + 64), 64);
  pagesPtr = align(heap.alloc(<usize>pages * PAGE_SIZE + PAGE_SIZE), PAGE_SIZE);
  memory.fill(ctrl, 0, size);
  memory.fill(pagesPtr, 0, <usize>pages * PAGE_SIZE);
  pageCount = pages;
  pageSub = ctrl + CTRL_FIXED_SIZE;
  pageDone = pageSub + hints;
  store<i32>(ctrl + C_MAGIC, MAGIC);
  store<i32>(ctrl + C_VERSION, ABI_VERSION);
  store<i32>(ctrl + C_CTRL_SIZE, <i32>size);
  store<i32>(ctrl + C_PAGE_COUNT, pages);
  store<i32>(ctrl + C_PAGES_PTR, <i32>pagesPtr);
  store<i32>(ctrl + C_ENTRY_SIZE, ENTRY_SIZE);

  const r = host_register(ctrl);
  if (r < 0) {
    registerResult = r;
    return r;
  }
  registerResult = 0;
  threads = atomic.load<i32>(ctrl + C_THREAD_COUNT);
  if (threads < 1 || threads > pages) threads = 1;
  hostMode = atomic.load<i32>(ctrl + C_MODE);
  pid = atomic.load<i32>(ctrl + C_PID);

  const entries = pages * ENTRIES_PER_PAGE;
  seenDone = new StaticArray<i32>(pages);
  inflightInPage = new StaticArray<i32>(pages);
  requestOf = new StaticArray<Request | null>(entries);
  freeStack = new StaticArray<i32>(entries);
  freeBase = new StaticArray<i32>(threads);
  freeTop = new StaticArray<i32>(threads);
  eventBusy = new StaticArray<i32>(threads);
  eventCap = new StaticArray<i32>(threads);
  sqTail = new StaticArray<i32>(threads);
  cancelTail = new StaticArray<i32>(threads);
  // Page p belongs to thread p % threads. Fill each thread's stack so that low entries pop first.
  syncEntryIndex = 0; // entry 0 (page 0, thread 0) is kept for calls made through an import
  let base = 0;
  for (let t = 0; t < threads; t++) {
    unchecked((freeBase[t] = base));
    let count = 0;
    for (let p = pages - 1; p >= 0; p--) {
      if (p % threads != t) continue;
      for (let e = ENTRIES_PER_PAGE - 1; e >= 0; e--) {
        const index = p * ENTRIES_PER_PAGE + e;
        if (index == syncEntryIndex) continue;
        unchecked((freeStack[base + count] = index));
        count++;
      }
    }
    unchecked((freeTop[t] = count));
    const reserve = count >> 3 > 0 ? count >> 3 : 1;
    unchecked((eventCap[t] = count - reserve > 0 ? count - reserve : count));
    base += count;
  }
  return 0;
}

/** 0 once registered; 1 before; -errno if the host refused the control block. */
export function registration(): i32 {
  return registerResult;
}
export function threadCount(): i32 {
  return threads;
}
export function mode(): i32 {
  return hostMode;
}
export function processId(): i32 {
  return pid;
}
export function inFlight(): i32 {
  return inflight;
}
export function controlBlock(): usize {
  return ctrl;
}

/** The syscall thread for a call routed by descriptor `fd` (-1 or negative: any thread). */
export function threadFor(fd: i32): i32 {
  if (hostMode != MODE_EXCEPTIONLESS) return 0; // one blocking caller: everything on thread 0
  if (fd >= 0) return fd % threads;
  // Calls without a descriptor (socket, openat at the cwd, getpid, timers) spread round-robin.
  const t = anyThread;
  anyThread = t + 1 == threads ? 0 : t + 1;
  return t;
}

/** Whether thread `t` has an entry for a call of this waiting class right now. */
export function canPost(t: i32, waits: i32): bool {
  if (unchecked(freeTop[t]) == 0) return false;
  return waits != 2 || unchecked(eventBusy[t]) < unchecked(eventCap[t]);
}

/** Writes `r` into a free entry of its thread and publishes it. The caller checked canPost. */
export function post(r: Request): void {
  const t = r._thread;
  const top = unchecked(freeTop[t]) - 1;
  unchecked((freeTop[t] = top));
  const index = unchecked(freeStack[unchecked(freeBase[t]) + top]);
  const e = entryAddr(index);
  const seq = unchecked(sqTail[t]);
  store<i32>(e + E_SYSNO, r._nr);
  store<i32>(e + E_ARG0, r._a0);
  store<i32>(e + E_ARG1, r._a1);
  store<i32>(e + E_ARG2, r._a2);
  store<i32>(e + E_ARG3, r._a3);
  store<i32>(e + E_ARG4, r._a4);
  store<i32>(e + E_ARG5, r._a5);
  store<i32>(e + E_USER, index);
  store<i32>(e + E_FLAGS, 0);
  store<i32>(e + E_SEQ, seq);
  store<i32>(e + E_THREAD, t);
  unchecked((requestOf[index] = r));
  r._entry = index;
  r._state = RQ_POSTED;
  if (r._waits == 2) unchecked((eventBusy[t] = unchecked(eventBusy[t]) + 1));
  const page = index / ENTRIES_PER_PAGE;
  unchecked((inflightInPage[page] = unchecked(inflightInPage[page]) + 1));
  inflight++;
  // Order matters: the entry is SUBMITTED, then its page hint moves, then the thread's tail: a
  // syscall thread that reads the tail finds every entry below it.
  atomic.store<i32>(e + E_STATUS, ST_SUBMITTED);
  atomic.add<i32>(pageSub + <usize>page * 4, 1);
  unchecked((sqTail[t] = seq + 1));
  const line = threadLine(t);
  atomic.store<i32>(line + T_SQ_TAIL, seq + 1);
  bump(C_G_SUBMITTED);
  ringIfSleeping(line);
}

/** Wakes syscall thread `line` only if it said it sleeps (its needs_wakeup flag). */
@inline function ringIfSleeping(line: usize): void {
  if (atomic.load<i32>(line + T_NEEDS_WAKEUP) != 0) {
    atomic.add<i32>(line + T_DOORBELL, 1);
    // Wake every waiter: a syscall thread may have left stale waiters behind from earlier sleeps.
    atomic.notify(line + T_DOORBELL, -1);
    bump(C_G_DOORBELLS);
  }
}

/**
 * Collects completed entries: for each page whose done-hint moved, reads every DONE entry, frees it
 * and queues its request (if it has a handler) on `ready`. Returns the number of entries collected.
 */
export function harvest(ready: RequestQueue): i32 {
  bump(C_G_POLLS);
  let collected = 0;
  for (let p = 0; p < pageCount; p++) {
    if (unchecked(inflightInPage[p]) == 0) continue;
    const hint = atomic.load<i32>(pageDone + <usize>p * 4);
    if (hint == unchecked(seenDone[p])) continue;
    unchecked((seenDone[p] = hint));
    const first = p * ENTRIES_PER_PAGE;
    for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
      const index = first + i;
      const e = entryAddr(index);
      if (atomic.load<i32>(e + E_STATUS) != ST_DONE) continue;
      const r = unchecked(requestOf[index]);
      if (!r || r._entry != index) continue; // the sync entry, or not ours: leave it alone
      const lo = load<u32>(e + E_RET);
      const hi = load<i32>(e + E_RET_HI);
      atomic.store<i32>(e + E_STATUS, ST_FREE);
      unchecked((requestOf[index] = null));
      release(r, index);
      r.result = (<i64>hi << 32) | <i64>lo;
      collected++;
      if (r._anon) {
        r._state = 0;
      } else {
        r._state = RQ_READY;
        ready.push(r);
      }
    }
  }
  return collected;
}

function release(r: Request, index: i32): void {
  const t = r._thread;
  const top = unchecked(freeTop[t]);
  unchecked((freeStack[unchecked(freeBase[t]) + top] = index));
  unchecked((freeTop[t] = top + 1));
  if (r._waits == 2) unchecked((eventBusy[t] = unchecked(eventBusy[t]) - 1));
  const page = index / ENTRIES_PER_PAGE;
  unchecked((inflightInPage[page] = unchecked(inflightInPage[page]) - 1));
  inflight--;
  r._entry = -1;
}

/**
 * Asks the host to cancel a posted call (SUBMITTED or BUSY -> CANCEL). Returns 0 when the request
 * was marked (the handler still runs exactly once: with -ECANCELED if cancellation won, with the
 * call's own result if it lost the race), or -EALREADY when the call had already completed.
 */
export function cancelPosted(r: Request): i32 {
  const index = r._entry;
  if (index < 0) return -EINVAL;
  const e = entryAddr(index);
  let ok = atomic.cmpxchg<i32>(e + E_STATUS, ST_SUBMITTED, ST_CANCEL) == ST_SUBMITTED;
  if (!ok) ok = atomic.cmpxchg<i32>(e + E_STATUS, ST_BUSY, ST_CANCEL) == ST_BUSY;
  if (!ok) return -EALREADY;
  const t = r._thread;
  atomic.add<i32>(pageSub + <usize>(index / ENTRIES_PER_PAGE) * 4, 1);
  const line = threadLine(t);
  const c = unchecked(cancelTail[t]) + 1;
  unchecked((cancelTail[t] = c));
  atomic.store<i32>(line + T_CANCEL_TAIL, c);
  bump(C_G_CANCELS);
  ringIfSleeping(line);
  return 0;
}

/**
 * Waits inside Wasm (memory.atomic.wait32 on the completions word, no import) until the host
 * completes something, the timeout passes, or the host asks us to stop. `ready` receives what a
 * last poll finds after announcing the wait (so a completion racing the announcement is not lost).
 */
export function waitCompletions(ready: RequestQueue, timeoutNs: i64): void {
  // A polling syscall thread usually answers within a microsecond or two: watch the completions word
  // for a moment before paying for a sleep and a wake-up.
  const before = atomic.load<i32>(ctrl + C_COMPLETIONS);
  for (let i = 0; i < SPIN_POLLS; i++) {
    if (atomic.load<i32>(ctrl + C_COMPLETIONS) != before) {
      harvest(ready);
      return;
    }
  }
  atomic.store<i32>(ctrl + C_GUEST_WAITING, 1);
  const seen = atomic.load<i32>(ctrl + C_COMPLETIONS);
  if (harvest(ready) == 0 && atomic.load<i32>(ctrl + C_SHUTDOWN) == 0) {
    bump(C_G_WAITS);
    memory.atomic.wait32(ctrl + C_COMPLETIONS, seen, timeoutNs);
  }
  atomic.store<i32>(ctrl + C_GUEST_WAITING, 0);
}

/** Non-zero when the host asked the guest to stop (the value says why: 1 = interrupted). */
export function shutdownRequested(): i32 {
  return ctrl == 0 ? 0 : atomic.load<i32>(ctrl + C_SHUTDOWN);
}

export function countThrottled(): void {
  bump(C_G_THROTTLED);
}
export function countHandler(): void {
  bump(C_G_HANDLERS);
}

/** Writes a call into the reserved sync entry and publishes it to thread 0. Returns the entry. */
function fillSync(nr: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, flags: i32): usize {
  const e = entryAddr(syncEntryIndex);
  const seq = unchecked(sqTail[0]);
  store<i32>(e + E_SYSNO, nr);
  store<i32>(e + E_ARG0, a0);
  store<i32>(e + E_ARG1, a1);
  store<i32>(e + E_ARG2, a2);
  store<i32>(e + E_ARG3, a3);
  store<i32>(e + E_ARG4, a4);
  store<i32>(e + E_ARG5, a5);
  store<i32>(e + E_USER, syncEntryIndex);
  store<i32>(e + E_FLAGS, flags);
  store<i32>(e + E_SEQ, seq);
  store<i32>(e + E_THREAD, 0);
  atomic.store<i32>(e + E_STATUS, ST_SUBMITTED);
  atomic.add<i32>(pageSub, 1);
  unchecked((sqTail[0] = seq + 1));
  atomic.store<i32>(threadLine(0) + T_SQ_TAIL, seq + 1);
  bump(C_G_SUBMITTED);
  bump(C_G_SYNC_CALLS);
  return e;
}

/** Reads the sync entry's 64-bit result and frees the entry. */
export function takeSync(): i64 {
  const e = entryAddr(syncEntryIndex);
  const lo = load<u32>(e + E_RET);
  const hi = load<i32>(e + E_RET_HI);
  atomic.store<i32>(e + E_STATUS, ST_FREE);
  return (<i64>hi << 32) | <i64>lo;
}

/**
 * Executes one call through the `syscall` import (a mode switch): in sync mode the host hands it to
 * syscall thread 0 and blocks; in epoll mode a kernel on the guest's own thread runs it. Returns the
 * 64-bit result. `flags` are entry flags (EF_NOWAIT). Usable in every mode, e.g. for set-up calls.
 */
export function execSync(nr: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, flags: i32): i64 {
  if (registerResult != 0) return -ENOSYS;
  host_syscall(fillSync(nr, a0, a1, a2, a3, a4, a5, flags));
  return takeSync();
}

/**
 * epoll mode: starts a call that may wait without blocking the guest's thread. Returns 0 when the
 * call already completed (read it with takeSync) and 1 when the guest must return to the host,
 * which resumes it through `flexsc_resume` once the call completed.
 */
export function startSync(nr: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32): i32 {
  if (registerResult != 0) return -ENOSYS;
  return host_yield(fillSync(nr, a0, a1, a2, a3, a4, a5, 0));
}
