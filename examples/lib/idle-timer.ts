// A connection's idle timer, as the paper's section 4.2 does timeouts: a sleep request posted beside
// the connection's own calls. Progress cancels it and starts a fresh period; a period that runs out
// lets its handler cancel the call the connection waits on. The handler is the example's own (what
// counts as progress differs); this holds what the examples share.
import * as flexsc from "../../guest/flexsc";

export class IdleTimer<T> extends flexsc.Request {
  /** The connection the timer watches. */
  owner: T;
  private period: ArrayBuffer;
  /** Start a fresh period when this (cancelled or fired) timer's handler runs. */
  rearm: bool = false;

  constructor(owner: T, periodMs: i32, handler: (r: flexsc.Request) => void) {
    super(handler);
    this.owner = owner;
    this.period = flexsc.timespec(<i64>periodMs * 1_000_000);
  }

  /** Changes the period the next `arm` sleeps (a connection whose phase has its own timeout). */
  setPeriod(periodMs: i32): void {
    const p = flexsc.ptr(this.period);
    store<i64>(p + flexsc.TIMESPEC_TV_SEC, <i64>(periodMs / 1000));
    store<i64>(p + flexsc.TIMESPEC_TV_NSEC, <i64>(periodMs % 1000) * 1_000_000);
  }

  /** Sleeps one period (the timer must not be in flight). */
  arm(): void {
    flexsc.clock_nanosleep(this, flexsc.CLOCK_MONOTONIC, 0, flexsc.ptr(this.period), 0);
  }

  /**
   * A fresh period from now: at once when the timer is idle; otherwise the sleep in flight is
   * cancelled (-EALREADY when it already fired or was cancelled) and its handler starts the period.
   */
  restart(): void {
    if (!this.busy) {
      this.arm();
      return;
    }
    this.rearm = true;
    flexsc.cancel(this);
  }

  /** Ends the period: cancels the sleep in flight; its handler still runs, without rearming. */
  stop(): void {
    if (!this.busy) return;
    this.rearm = false;
    flexsc.cancel(this); // -EALREADY when it fired meanwhile: its handler runs anyway
  }
}
