// A request: one asynchronous system call and the handler to run when it completes.

/** Request life cycle (library-private). */
export const RQ_IDLE: i32 = 0; // not in flight: may be submitted
export const RQ_QUEUED: i32 = 1; // accepted but throttled: waiting for a free entry of its thread
export const RQ_POSTED: i32 = 2; // in a syscall entry
export const RQ_READY: i32 = 3; // completed; its handler runs from the loop
export const RQ_PARKED: i32 = 4; // sync/epoll modes: waiting for readiness of its descriptor
export const RQ_TIMER: i32 = 5; // sync/epoll modes: a timeout waiting for its deadline

/**
 * One system call in flight, like the paper's `event`. Subclass it to carry your connection state:
 * the handler receives the request and can `changetype<MyConn>(req)`.
 *
 * The caller owns the request and every buffer the call points to until the handler runs: keep
 * buffers referenced from the request (the garbage collector does not see raw pointers in entries).
 */
export class Request {
  /** Runs once when the call completes, from the loop (never inside a submit call). */
  handler: ((req: Request) => void) | null = null;
  /** The call's result: >= 0 on success, -errno on failure (-ECANCELED if cancellation won). */
  result: i64 = 0;

  // ---- library-private bookkeeping ----
  _state: i32 = RQ_IDLE;
  /** Entry index while posted. */
  _entry: i32 = -1;
  /** Syscall thread the call goes to. */
  _thread: i32 = 0;
  /** Descriptor that orders the call (-1: none). */
  _fd: i32 = -1;
  /** 0 prompt, 1 may wait for room, 2 may wait for an outside event. */
  _waits: i32 = 0;
  _nr: i32 = 0;
  _a0: i32 = 0;
  _a1: i32 = 0;
  _a2: i32 = 0;
  _a3: i32 = 0;
  _a4: i32 = 0;
  _a5: i32 = 0;
  /** Reactor timers: absolute monotonic deadline in ns. */
  _deadline: i64 = 0;
  /** Reactor: a non-blocking connect is in progress (retry asks SO_ERROR). */
  _connecting: bool = false;
  /** Submitted without a handler (fire and forget). */
  _anon: bool = false;
  /** Intrusive link: a request sits in at most one queue at a time. */
  _next: Request | null = null;

  constructor(handler: ((req: Request) => void) | null = null) {
    this.handler = handler;
  }

  /** True while the call is in flight (submitted and its handler not yet run). */
  get busy(): bool {
    return this._state != RQ_IDLE;
  }
}

/** A FIFO of requests linked through `_next`. */
export class RequestQueue {
  head: Request | null = null;
  tail: Request | null = null;
  length: i32 = 0;

  push(r: Request): void {
    r._next = null;
    const t = this.tail;
    if (t) t._next = r;
    else this.head = r;
    this.tail = r;
    this.length++;
  }

  shift(): Request | null {
    const h = this.head;
    if (h) {
      this.head = h._next;
      if (!this.head) this.tail = null;
      h._next = null;
      this.length--;
    }
    return h;
  }

  /** Unlinks `r` (after `prev`, or the head when `prev` is null). */
  unlink(prev: Request | null, r: Request): void {
    if (prev) prev._next = r._next;
    else this.head = r._next;
    if (this.tail === r) this.tail = prev;
    r._next = null;
    this.length--;
  }

  /** Removes `r` if queued here; returns whether it was. */
  remove(r: Request): bool {
    let prev: Request | null = null;
    let cur = this.head;
    while (cur) {
      if (cur === r) {
        this.unlink(prev, cur);
        return true;
      }
      prev = cur;
      cur = cur._next;
    }
    return false;
  }
}
