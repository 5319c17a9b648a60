import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  TW_DOORBELL, TW_NEEDS_WAKEUP, HW_SLEEPS, HW_WAKEUPS,
} from '../abi/v1.js';
import { BellWaiter } from './bell-waiter.js';
import type { ServedGuest } from './served-guest.js';
import type { VmShared } from './vm-shared.js';

/** Adaptive idle polling (Sleeper.spinMs): its ceiling, and what counts as a short or long sleep. */
const MAX_SPIN_MS = 2;
const SHORT_SLEEP_MS = 1;
const LONG_SLEEP_MS = 50;

/**
 * Sleeping and waking (paper section 3.2.1, and the needs-wakeup handshake of the ABI): a thread that
 * found no work for `spinMs` announces that it sleeps (needs_wakeup in every guest it scans and on
 * its internal doorbell), looks once more for work that raced the announcement, then waits for a
 * doorbell. Guests ring only threads that announced, so the fast path never pays a wake-up.
 */
export class Sleeper {
  private sleepingNow = false;
  private sleepGeneration = 0;
  /**
   * How long to keep polling without work before sleeping: adaptive between the configured spin and
   * MAX_SPIN_MS. A doorbell soon after falling asleep means the sleep cost a wake-up (13-20 µs and
   * an event-loop turn) for a pause a little longer spinning would have covered: spin twice as
   * long. A long sleep means the thread is really idle: halve it. With several syscall threads a
   * guest's calls reach each thread in bursts with short gaps, and without this the threads slept
   * between bursts (file reads did not scale with threads: docs/os-kernel.md). Only where there are
   * enough cores (see the constructor).
   */
  spinMs: number;
  private readonly minSpinMs: number;
  private readonly maxSpinMs: number;
  private sleptAt = 0;
  private readonly ownWaiter = new BellWaiter();
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly shared: VmShared,
    private readonly index: number,
    /** The guests this thread serves (the thread's own list, kept current by it). */
    private readonly guests: readonly ServedGuest[],
    spinUs: number,
    threadCount: number,
  ) {
    this.minSpinMs = spinUs / 1000;
    // Longer polling only pays where every syscall thread and a guest have a core each: on fewer
    // cores, spinning threads take the cores the working ones need (measured: 4 threads on 2 cores
    // read files 5 times slower with it).
    const cores = availableParallelism();
    this.maxSpinMs = threadCount + 1 <= cores ? Math.max(this.minSpinMs, MAX_SPIN_MS) : this.minSpinMs;
    this.spinMs = this.minSpinMs;
  }

  get sleeping(): boolean {
    return this.sleepingNow;
  }

  /**
   * Sets needs-wakeup everywhere, then calls `recheck` (no lost wake-up: work posted before the
   * guest could see the flags); with no work found, waits for a doorbell or `timeoutMs()`, then
   * calls `woken`. With work found, calls `woken` at once.
   */
  sleep(recheck: () => boolean, timeoutMs: () => number, woken: () => void): void {
    const i32 = this.shared.i32;
    const ownBell = this.shared.doorbellWord(this.index);
    const ownSeen = Atomics.load(i32, ownBell);
    Atomics.store(i32, this.shared.needsWakeupWord(this.index), 1);
    const bells: [ServedGuest, number, number][] = [];
    for (const g of this.guests) {
      if (!g.scanned) continue;
      const bell = g.lineW + TW_DOORBELL;
      bells.push([g, bell, Atomics.load(g.i32, bell)]);
      Atomics.store(g.i32, g.lineW + TW_NEEDS_WAKEUP, 1);
    }
    if (recheck()) {
      this.clearNeedsWakeup();
      woken();
      return;
    }
    this.sleepingNow = true;
    this.sleptAt = performance.now();
    const generation = ++this.sleepGeneration;
    for (const g of this.guests) if (g.scanned) g.i32[g.hostW + HW_SLEEPS]!++;
    const timeout = timeoutMs();
    const waits = [this.ownWaiter.watch(i32, ownBell, ownSeen, timeout)];
    for (const [g, bell, seen] of bells) waits.push(g.bellWaiter.watch(g.i32, bell, seen, timeout));
    if (!this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30); // waitAsync alone keeps no worker alive
    void Promise.race(waits).then((how) => {
      if (generation !== this.sleepGeneration || !this.sleepingNow) return;
      if (how === 'ok') for (const g of this.guests) if (g.scanned) g.i32[g.hostW + HW_WAKEUPS]!++;
      this.adaptSpin(performance.now() - this.sleptAt);
      this.endSleep();
      woken();
    });
  }

  /** Ends a sleep early (the thread was woken by a message or an attach). */
  endSleep(): void {
    this.sleepingNow = false;
    this.sleepGeneration++;
    this.clearNeedsWakeup();
  }

  close(): void {
    this.sleepGeneration++;
    if (this.keepAlive) clearInterval(this.keepAlive);
  }

  /** See spinMs. `slept`: how long the sleep that just ended lasted, in ms. */
  private adaptSpin(slept: number): void {
    if (slept < SHORT_SLEEP_MS) this.spinMs = Math.min(this.maxSpinMs, this.spinMs * 2);
    else if (slept > LONG_SLEEP_MS) this.spinMs = Math.max(this.minSpinMs, this.spinMs / 2);
  }

  private clearNeedsWakeup(): void {
    Atomics.store(this.shared.i32, this.shared.needsWakeupWord(this.index), 0);
    for (const g of this.guests) if (g.scanned) Atomics.store(g.i32, g.lineW + TW_NEEDS_WAKEUP, 0);
  }
}
