/**
 * An asynchronous wait on one doorbell word, reused across sleeps. `Atomics.waitAsync` has no way to
 * cancel a waiter: a thread that wakes for another reason leaves its waiter queued until a notify or
 * its timeout. Creating a new one at every sleep would pile them up on a thread that sleeps often, so
 * a waiter still pending on the same value is reused instead. (Doorbells are rung with a notify-all,
 * so an old waiter can never absorb the notification meant for a newer one.) A pending waiter that
 * would time out later than the caller asked for is not reused: a thread that slept for long and now
 * needs a short timeout (a home thread with virtual timers to check) must not inherit the long one.
 */
export class BellWaiter {
  private pending: Promise<string> | null = null;
  private seen = 0;
  /** When the pending waiter times out (performance.now() milliseconds). */
  private deadline = 0;

  watch(i32: Int32Array, word: number, seen: number, timeoutMs: number): Promise<string> {
    const now = performance.now();
    if (this.pending && this.seen === seen && this.deadline <= now + timeoutMs) return this.pending;
    const r = Atomics.waitAsync(i32, word, seen, timeoutMs);
    if (!r.async) return Promise.resolve(r.value);
    this.seen = seen;
    this.deadline = now + timeoutMs;
    const p = r.value.then((how) => {
      if (this.pending === p) this.pending = null;
      return how;
    });
    this.pending = p;
    return p;
  }
}
