// The syscall pages and the control block: registration, posting entries, harvesting completions,
// cancelling, waiting. This file is the guest half of the protocol in abi/README.md.

import {
  ABI_VERSION, MAGIC, ENTRY_SIZE, ENTRIES_PER_PAGE, PAGE_SIZE, MAX_PAGES, THREAD_LINES,
  ctrlSize, subMaskOffset, doneMaskOffset,
  ST_FREE, ST_SUBMITTED, ST_BUSY, ST_DONE, ST_CANCEL, MODE_EXCEPTIONLESS, MODE_EPOLL,
  E_STATUS, E_SYSNO, E_ARG0, E_ARG1, E_ARG2, E_ARG3, E_ARG4, E_ARG5, E_RET, E_RET_HI, E_USER, E_FLAGS, E_SEQ, E_THREAD,
  C_MAGIC, C_VERSION, C_CTRL_SIZE, C_PAGE_COUNT, C_PAGES_PTR, C_ENTRY_SIZE, C_PAGE_LIMIT, C_THREAD_COUNT, C_MODE, C_PID, C_WAITS, WAITS_HOST,
  C_PAGE_MAX, C_G_PAGES_ADDED,
  C_COMPLETIONS, C_GUEST_WAITING, C_SHUTDOWN,
  C_G_SUBMITTED, C_G_POLLS, C_G_WAITS, C_G_DOORBELLS, C_G_CANCELS, C_G_THROTTLED, C_G_HANDLERS, C_G_SYNC_CALLS, C_G_CANCELS_LOCAL,
  T_SQ_TAIL, T_CANCEL_TAIL, T_DOORBELL, T_NEEDS_WAKEUP,
  EINVAL, EALREADY, ENOSYS,
} from "./abi";
import { Request, RequestQueue, RQ_POSTED, RQ_READY } from "./request";
import { host_register, host_add_pages, host_syscall, host_yield, host_wait, host_wake } from "./host";

/** Most completion-word polls before the guest sleeps in waitCompletions: about 20-30 µs, the cost of a wake-up. */
const SPIN_POLLS: i32 = 32768;
/** Polls when only calls that wait for outside events are in flight. */
const SPIN_POLLS_MIN: i32 = 256;
/** Calls in flight that complete promptly or once there is room (waits 0 or 1). */
let promptInflight: i32 = 0;
/**
 * With host waits (a native kernel) the spin adapts: a spin that saw a completion doubles the next
 * one (up to SPIN_POLLS), a spin that ended in a sleep halves it (down to SPIN_POLLS_MIN). On two
 * shared cores a guest spinning for results that do not come takes the core its clients need.
 */
let spinBudget: i32 = SPIN_POLLS;
/** The host's syscall threads sleep on the kernel's futex: wait and ring through its imports. */
let hostWaits = false;

/** Default number of syscall pages: 64 pages of 64 entries = 4,096 calls in flight. */
export const DEFAULT_PAGES: i32 = 64;
/**
 * Default most pages in all: when a thread's entries run out, more pages are registered at run time
 * (flexvm.add_pages), up to this or the host's limit (--max-pages), whichever is lower.
 */
export const DEFAULT_PAGE_LIMIT: i32 = 1024;

let ctrl: usize = 0;
let pageCount: i32 = 0;
/** The most pages the host accepts from us in all (page_max); pageCount once growing failed. */
let pageMax: i32 = 0;
/** Pages added at a time: as many as at start, rounded up to a whole row (one page per thread). */
let growStep: i32 = 0;
/** What the last add_pages that failed answered (0: none failed). */
let growError: i32 = 0;
// Per page: where it is (the first pages are contiguous; each later batch lies where it was allocated).
let pageBase = new StaticArray<u32>(0);
let threads: i32 = 1;
let hostMode: i32 = MODE_EXCEPTIONLESS;
let pid: i32 = 0;
let subMask: usize = 0;
let doneMask: usize = 0;
let seenCompletions: i32 = 0;
let registerResult: i32 = 1; // 1: not yet registered; 0: registered; < 0: refused

// Per-page: entries in flight.
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
let publishedTail = new StaticArray<i32>(0);
// Pages with entries posted since the last publish, and those entries' bits (low and high 32).
let subLo = new StaticArray<i32>(0);
let subHi = new StaticArray<i32>(0);
let dirtyPages = new StaticArray<i32>(0);
let dirtyCount: i32 = 0;
let unpublished: i32 = 0;
/** Posts after which the guest publishes even in the middle of running handlers. */
const PUBLISH_EVERY: i32 = 32;
let cancelTail = new StaticArray<i32>(0);
let inflight: i32 = 0;
let anyThread: i32 = 0;
let syncEntryIndex: i32 = -1;

@inline function entryAddr(index: i32): usize {
  return <usize>unchecked(pageBase[index >> 6]) + <usize>(index & 63) * ENTRY_SIZE;
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

/** A block for `count` pages with room to align them (pagesIn gives their address in it). */
function allocBlock(count: i32): usize {
  return heap.alloc(<usize>count * PAGE_SIZE + PAGE_SIZE);
}
/** The page-aligned, zeroed pages in a block from allocBlock. Never freed once registered: the host keeps pointers into them. */
function pagesIn(block: usize, count: i32): usize {
  const p = align(block, PAGE_SIZE);
  memory.fill(p, 0, <usize>count * PAGE_SIZE);
  return p;
}

/**
 * Lays out the control block and `pages` syscall pages in linear memory and registers them with
 * the host (the one import the exception-less path makes). The control block's masks are sized for
 * `limit` pages: the most this guest will register in all. Returns 0, or -errno if the host refused.
 */
export function pagesInit(pages: i32, limit: i32): i32 {
  if (registerResult <= 0) return registerResult == 0 ? -EALREADY : registerResult;
  if (pages < 1 || pages > MAX_PAGES) return -EINVAL;
  if (limit < pages) limit = pages;
  if (limit > MAX_PAGES) limit = MAX_PAGES;
  const size = ctrlSize(limit);
  ctrl = align(heap.alloc(size + 64), 64); // never freed, as the pages
  const pagesPtr = pagesIn(allocBlock(pages), pages);
  memory.fill(ctrl, 0, size);
  pageBase = new StaticArray<u32>(limit);
  for (let p = 0; p < pages; p++) unchecked((pageBase[p] = <u32>(pagesPtr + <usize>p * PAGE_SIZE)));
  pageCount = pages;
  subMask = ctrl + subMaskOffset(limit);
  doneMask = ctrl + doneMaskOffset(limit);
  store<i32>(ctrl + C_MAGIC, MAGIC);
  store<i32>(ctrl + C_VERSION, ABI_VERSION);
  store<i32>(ctrl + C_CTRL_SIZE, <i32>size);
  store<i32>(ctrl + C_PAGE_COUNT, pages);
  store<i32>(ctrl + C_PAGES_PTR, <i32>pagesPtr);
  store<i32>(ctrl + C_ENTRY_SIZE, ENTRY_SIZE);
  store<i32>(ctrl + C_PAGE_LIMIT, limit);

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
  hostWaits = atomic.load<i32>(ctrl + C_WAITS) == WAITS_HOST;
  pageMax = atomic.load<i32>(ctrl + C_PAGE_MAX);
  if (pageMax < pages || pageMax > limit) pageMax = pages; // a host that does not say: no growth
  growStep = ((pages + threads - 1) / threads) * threads;

  freeBase = new StaticArray<i32>(threads);
  freeTop = new StaticArray<i32>(threads);
  eventBusy = new StaticArray<i32>(threads);
  eventCap = new StaticArray<i32>(threads);
  sqTail = new StaticArray<i32>(threads);
  publishedTail = new StaticArray<i32>(threads);
  cancelTail = new StaticArray<i32>(threads);
  syncEntryIndex = 0; // entry 0 (page 0, thread 0) is kept for calls made through an import
  pagesAdded(0);
  return 0;
}

/** Entries of thread `t` in the first `pages` pages (page p belongs to thread p % threads), the sync entry excepted. */
function threadEntries(t: i32, pages: i32): i32 {
  const owned = t < pages ? (pages - t + threads - 1) / threads : 0;
  return owned * ENTRIES_PER_PAGE - (t == 0 ? 1 : 0);
}

/** Of a thread's `count` entries, those for calls that wait for the outside world (1/8 is kept for calls that finish). */
function eventShare(count: i32): i32 {
  const reserve = count >> 3 > 0 ? count >> 3 : 1;
  return count - reserve > 0 ? count - reserve : count;
}

/**
 * Sizes the per-page and per-entry arrays for pageCount pages, of which the first `before` were
 * there already, and gives each thread its new entries (under its free ones, so that entries used
 * before are reused first; within new pages, low entries pop first).
 */
function pagesAdded(before: i32): void {
  const entries = pageCount * ENTRIES_PER_PAGE;
  inflightInPage = grown<i32>(inflightInPage, pageCount);
  requestOf = grown<Request | null>(requestOf, entries);
  subLo = grown<i32>(subLo, pageCount);
  subHi = grown<i32>(subHi, pageCount);
  dirtyPages = grown<i32>(dirtyPages, pageCount);
  const stack = new StaticArray<i32>(entries);
  let base = 0;
  for (let t = 0; t < threads; t++) {
    let count = 0;
    for (let p = pageCount - 1; p >= before; p--) {
      if (p % threads != t) continue;
      for (let e = ENTRIES_PER_PAGE - 1; e >= 0; e--) {
        const index = p * ENTRIES_PER_PAGE + e;
        if (index == syncEntryIndex) continue;
        unchecked((stack[base + count] = index));
        count++;
      }
    }
    if (before > 0) {
      const from = unchecked(freeBase[t]);
      const top = unchecked(freeTop[t]);
      for (let i = 0; i < top; i++) unchecked((stack[base + count + i] = freeStack[from + i]));
      count += top;
    }
    unchecked((freeBase[t] = base));
    unchecked((freeTop[t] = count));
    const total = threadEntries(t, pageCount);
    unchecked((eventCap[t] = eventShare(total)));
    base += total;
  }
  freeStack = stack;
}

/** `a`, or a copy of it with `n` elements (the new ones zero) if it is shorter. */
function grown<T>(a: StaticArray<T>, n: i32): StaticArray<T> {
  if (a.length >= n) return a;
  const b = new StaticArray<T>(n);
  for (let i = 0; i < a.length; i++) unchecked((b[i] = a[i]));
  return b;
}

/**
 * Registers more pages (flexvm.add_pages) because thread `t` ran out of entries: growStep pages at
 * a time, up to pageMax. Returns whether `t` got entries. Once the host refuses (-ENOSPC at its
 * limit, or anything else) the guest stops asking: its calls then wait for an entry (throttling).
 */
function growFor(t: i32): bool {
  if (pageCount >= pageMax) return false;
  let add = growStep;
  if (add > pageMax - pageCount) add = pageMax - pageCount;
  const before = pageCount;
  const block = allocBlock(add);
  const ptr = pagesIn(block, add);
  const r = host_add_pages(ptr, add);
  if (r != before + add) {
    growError = r < 0 ? r : -EINVAL;
    pageMax = pageCount;
    if (r < 0) heap.free(block); // refused: the host keeps no pointer into it
    return false;
  }
  for (let i = 0; i < add; i++) unchecked((pageBase[before + i] = <u32>(ptr + <usize>i * PAGE_SIZE)));
  pageCount = before + add;
  pagesAdded(before);
  bump(C_G_PAGES_ADDED);
  return threadEntries(t, pageCount) > threadEntries(t, before);
}

/** Syscall pages registered so far (the first ones and those added at run time). */
export function pagesRegistered(): i32 {
  return pageCount;
}

/** The most pages this guest may have (its own and the host's limit); pagesRegistered() once growing failed. */
export function pagesLimit(): i32 {
  return pageMax;
}

/** What the host answered when it last refused more pages (-ENOSPC at its limit), or 0. */
export function pagesError(): i32 {
  return growError;
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

/**
 * Entries still free for calls that wait for the outside world (reads, accepts, timers) on the
 * syscall thread with the fewest, counting the pages that may still be added (up to pagesLimit()):
 * how many more such calls are sure to be posted rather than held back (throttled) until others finish. A server compares it with what a new connection needs, and
 * refuses the connection rather than let its accept be held back. In the sync and epoll modes
 * waiting calls take no entry (the guest's reactor parks them): there it is i32.MAX_VALUE.
 */
export function waitRoom(): i32 {
  if (hostMode != MODE_EXCEPTIONLESS || registerResult != 0) return i32.MAX_VALUE;
  let least = i32.MAX_VALUE;
  for (let t = 0; t < threads; t++) {
    const room = eventShare(threadEntries(t, pageMax)) - unchecked(eventBusy[t]);
    if (room < least) least = room;
  }
  return least;
}

/**
 * Entries for calls that wait for the outside world, over every syscall thread, counted as if each
 * thread had only as many as the one with the fewest, once every page that may be added is: what a server may plan to hold at once (each
 * connection's waiting calls, its accepts, its timers). i32.MAX_VALUE in the sync and epoll modes.
 */
export function waitCapacity(): i32 {
  if (hostMode != MODE_EXCEPTIONLESS || registerResult != 0) return i32.MAX_VALUE;
  let least = i32.MAX_VALUE;
  for (let t = 0; t < threads; t++) least = min(least, eventShare(threadEntries(t, pageMax)));
  return least * threads;
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

/**
 * Whether thread `t` has an entry for a call of this waiting class now: one is free, or pages were
 * added for it (while the limit allows).
 */
export function canPost(t: i32, waits: i32): bool {
  if (hasEntry(t, waits)) return true;
  while (growFor(t)) if (hasEntry(t, waits)) return true;
  return false;
}

@inline function hasEntry(t: i32, waits: i32): bool {
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
  else promptInflight++;
  const page = index / ENTRIES_PER_PAGE;
  unchecked((inflightInPage[page] = unchecked(inflightInPage[page]) + 1));
  inflight++;
  // A plain store is enough: publish() makes it visible with an atomic OR on the page's mask,
  // which orders it before anything a syscall thread reads after taking that mask.
  store<i32>(e + E_STATUS, ST_SUBMITTED);
  unchecked((sqTail[t] = seq + 1));
  bump(C_G_SUBMITTED);
  // Published in batches (see publish): the syscall thread then finds a whole batch in one pass.
  markSubmitted(index);
  if (++unpublished >= PUBLISH_EVERY) publish();
}

/** Notes a posted entry's bit for the next publish. */
@inline function markSubmitted(index: i32): void {
  const page = index >> 6;
  if ((unchecked(subLo[page]) | unchecked(subHi[page])) == 0) unchecked((dirtyPages[dirtyCount++] = page));
  if ((index & 32) == 0) unchecked((subLo[page] = unchecked(subLo[page]) | (1 << (index & 31))));
  else unchecked((subHi[page] = unchecked(subHi[page]) | (1 << (index & 31))));
}

/**
 * Makes posted entries visible to the syscall threads: sets their bits in the pages' submission
 * masks, then moves each thread's tail, then rings the doorbell of a thread that sleeps. Order
 * matters: a syscall thread that reads a tail finds every entry below it. The loop publishes when it
 * has run the ready handlers (and every PUBLISH_EVERY posts), so a burst of submissions costs the
 * shared cache lines one write per page and per thread instead of one per call.
 */
export function publish(): void {
  if (unpublished == 0) return;
  for (let i = 0; i < dirtyCount; i++) {
    const page = unchecked(dirtyPages[i]);
    const w = subMask + <usize>page * 8;
    const lo = unchecked(subLo[page]);
    const hi = unchecked(subHi[page]);
    if (lo != 0) atomic.or<i32>(w, lo);
    if (hi != 0) atomic.or<i32>(w + 4, hi);
    unchecked((subLo[page] = 0));
    unchecked((subHi[page] = 0));
  }
  dirtyCount = 0;
  for (let t = 0; t < threads; t++) {
    const tail = unchecked(sqTail[t]);
    if (tail == unchecked(publishedTail[t])) continue;
    unchecked((publishedTail[t] = tail));
    const line = threadLine(t);
    atomic.store<i32>(line + T_SQ_TAIL, tail);
    ringIfSleeping(line);
  }
  unpublished = 0;
}

/** Wakes syscall thread `line` only if it said it sleeps (its needs_wakeup flag). */
@inline function ringIfSleeping(line: usize): void {
  if (atomic.load<i32>(line + T_NEEDS_WAKEUP) != 0) {
    atomic.add<i32>(line + T_DOORBELL, 1);
    // Wake every waiter: a syscall thread may have left stale waiters behind from earlier sleeps.
    if (hostWaits) host_wake(line + T_DOORBELL);
    else atomic.notify(line + T_DOORBELL, -1);
    bump(C_G_DOORBELLS);
  }
}

/**
 * Collects completed entries: if the completions word moved, takes each busy page's done mask and
 * reads the entries whose bit is set, frees them and queues their requests (those with a handler)
 * on `ready`. Returns the number of entries collected.
 */
export function harvest(ready: RequestQueue): i32 {
  publish();
  bump(C_G_POLLS);
  const c = atomic.load<i32>(ctrl + C_COMPLETIONS);
  if (c == seenCompletions) return 0;
  seenCompletions = c;
  let collected = 0;
  for (let p = 0; p < pageCount; p++) {
    if (unchecked(inflightInPage[p]) == 0) continue;
    const w = doneMask + <usize>p * 8;
    let lo = atomic.load<i32>(w);
    let hi = atomic.load<i32>(w + 4);
    if ((lo | hi) == 0) continue;
    if (lo != 0) lo = atomic.xchg<i32>(w, 0);
    if (hi != 0) hi = atomic.xchg<i32>(w + 4, 0);
    collected += collectBits(lo, p * ENTRIES_PER_PAGE, ready);
    collected += collectBits(hi, p * ENTRIES_PER_PAGE + 32, ready);
  }
  return collected;
}

function collectBits(mask: i32, first: i32, ready: RequestQueue): i32 {
  let n = 0;
  while (mask != 0) {
    const index = first + ctz(mask);
    mask &= mask - 1;
    const e = entryAddr(index);
    if (atomic.load<i32>(e + E_STATUS) != ST_DONE) continue;
    const r = unchecked(requestOf[index]);
    if (!r || r._entry != index) continue; // the sync entry, or not ours: leave it alone
    const lo = load<u32>(e + E_RET);
    const hi = load<i32>(e + E_RET_HI);
    store<i32>(e + E_STATUS, ST_FREE); // only this thread touches a DONE entry
    // (requestOf[index] keeps its reference until the entry is reused: it saves a GC barrier per call)
    release(r, index);
    r.result = (<i64>hi << 32) | <i64>lo;
    n++;
    if (r._anon) {
      r._state = 0;
    } else {
      r._state = RQ_READY;
      ready.push(r);
    }
  }
  return n;
}

function release(r: Request, index: i32): void {
  const t = r._thread;
  const top = unchecked(freeTop[t]);
  unchecked((freeStack[unchecked(freeBase[t]) + top] = index));
  unchecked((freeTop[t] = top + 1));
  if (r._waits == 2) unchecked((eventBusy[t] = unchecked(eventBusy[t]) - 1));
  else promptInflight--;
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
  publish();
  const e = entryAddr(index);
  let ok = atomic.cmpxchg<i32>(e + E_STATUS, ST_SUBMITTED, ST_CANCEL) == ST_SUBMITTED;
  if (!ok) ok = atomic.cmpxchg<i32>(e + E_STATUS, ST_BUSY, ST_CANCEL) == ST_BUSY;
  if (!ok) return -EALREADY;
  const t = r._thread;
  atomic.or<i32>(subMask + <usize>(index >> 6) * 8 + ((index & 32) != 0 ? 4 : 0), 1 << (index & 31));
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
 * completes something, the timeout passes, or the host asks us to stop; then collects into `ready`.
 * While the wait is announced (guest_waiting = 1) nothing is collected, only looked for: the host
 * moves virtual time when every guest waits, so a guest holding unhandled completions must not look
 * as if it waited. A completion racing the announcement changes the completions word: not lost.
 */
export function waitCompletions(ready: RequestQueue, timeoutNs: i64): void {
  publish();
  // A polling syscall thread answers a prompt call within a microsecond or two: watch the
  // completions word for a moment before paying for a sleep and a wake-up. Only then, though: when
  // every call in flight waits for an outside event (reads, accepts, timeouts), nothing is likely to
  // complete soon, and spinning would burn a core the rest of the machine needs.
  const before = atomic.load<i32>(ctrl + C_COMPLETIONS);
  const budget = promptInflight > 0 ? (hostWaits ? spinBudget : SPIN_POLLS) : SPIN_POLLS_MIN;
  for (let i = 0; i < budget; i++) {
    if (atomic.load<i32>(ctrl + C_COMPLETIONS) != before) {
      if (hostWaits && promptInflight > 0) spinBudget = min(SPIN_POLLS, spinBudget << 1);
      harvest(ready);
      return;
    }
  }
  if (hostWaits && promptInflight > 0) spinBudget = max(SPIN_POLLS_MIN, spinBudget >> 1);
  atomic.store<i32>(ctrl + C_GUEST_WAITING, 1);
  const seen = atomic.load<i32>(ctrl + C_COMPLETIONS);
  if (seen == seenCompletions && atomic.load<i32>(ctrl + C_SHUTDOWN) == 0) {
    bump(C_G_WAITS);
    if (hostWaits) host_wait(ctrl + C_COMPLETIONS, seen, timeoutNs < 0 ? -1 : <i32>min<i64>(timeoutNs / 1000, 0x7fffffff));
    else memory.atomic.wait32(ctrl + C_COMPLETIONS, seen, timeoutNs);
  }
  atomic.store<i32>(ctrl + C_GUEST_WAITING, 0);
  harvest(ready);
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
/** A cancellation answered in the guest (a throttled call, or one parked in the reactor): won. */
export function countLocalCancel(): void {
  bump(C_G_CANCELS_LOCAL);
}

/**
 * Writes a call into the reserved sync entry. In sync mode it is published to thread 0 (after any
 * entries posted before it, so calls keep their order); in epoll mode it is handed over directly.
 */
function fillSync(nr: i32, a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, flags: i32): usize {
  const e = entryAddr(syncEntryIndex);
  store<i32>(e + E_SYSNO, nr);
  store<i32>(e + E_ARG0, a0);
  store<i32>(e + E_ARG1, a1);
  store<i32>(e + E_ARG2, a2);
  store<i32>(e + E_ARG3, a3);
  store<i32>(e + E_ARG4, a4);
  store<i32>(e + E_ARG5, a5);
  store<i32>(e + E_USER, syncEntryIndex);
  store<i32>(e + E_FLAGS, flags);
  store<i32>(e + E_THREAD, 0);
  bump(C_G_SUBMITTED);
  bump(C_G_SYNC_CALLS);
  if (hostMode == MODE_EPOLL) {
    atomic.store<i32>(e + E_STATUS, ST_SUBMITTED);
    return e;
  }
  const seq = unchecked(sqTail[0]);
  store<i32>(e + E_SEQ, seq);
  atomic.store<i32>(e + E_STATUS, ST_SUBMITTED);
  unchecked((sqTail[0] = seq + 1));
  markSubmitted(syncEntryIndex);
  unpublished++;
  publish();
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
