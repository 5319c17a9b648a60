// A wall clock read once a second, for servers that stamp every response (an HTTP Date) or expire
// items by the second without a system call per reading: read CLOCK_REALTIME, sleep on
// CLOCK_MONOTONIC until just past the next whole second, read it again. One waiting call in flight
// (an entry of the 7/8 that waiting calls may use) and one wake-up a second while idle.
import { Request } from "./request";
import { clock_gettime, clock_nanosleep } from "./calls";
import { ptr } from "./structs";
import { CLOCK_MONOTONIC, CLOCK_REALTIME, ENOSYS, SYS_clock_gettime, TIMESPEC_SIZE, TIMESPEC_TV_NSEC, TIMESPEC_TV_SEC } from "./abi";
import { cancel, ensureInit } from "./core";
import { execSync } from "./pages";

export class SecondTicker extends Request {
  /** CLOCK_REALTIME in whole seconds, as of the last reading (kept when a reading fails). */
  seconds: i64 = 0;
  /** Runs on every tick: once at start(), then once a second. */
  onTick: (ticker: SecondTicker) => void;
  now: ArrayBuffer = new ArrayBuffer(TIMESPEC_SIZE);
  sleep: ArrayBuffer = new ArrayBuffer(TIMESPEC_SIZE);
  stopped: bool = false;

  constructor(onTick: (ticker: SecondTicker) => void) {
    super(onRead);
    this.onTick = onTick;
  }

  /** Reads the clock synchronously (set-up, before the loop runs): 0, or a negative errno. */
  read(): i32 {
    if (ensureInit() != 0) return -ENOSYS;
    const r = execSync(SYS_clock_gettime, CLOCK_REALTIME, <i32>ptr(this.now), 0, 0, 0, 0, 0);
    if (r < 0) return <i32>r;
    this.seconds = load<i64>(ptr(this.now) + TIMESPEC_TV_SEC);
    return 0;
  }

  /** Ticks now (with the last reading) and then every second until stop(). */
  start(): void {
    tick(this);
  }

  /** Stops ticking: its waiting call would keep the loop running after the server is done. */
  stop(): void {
    this.stopped = true;
    if (this.busy) cancel(this);
  }
}

/** Runs the tick, then sleeps until a millisecond past the next second, so that the next reading has it. */
function tick(k: SecondTicker): void {
  const p = ptr(k.now);
  k.seconds = load<i64>(p + TIMESPEC_TV_SEC);
  const onTick = k.onTick;
  onTick(k);
  if (k.stopped) return;
  const ns = 1_000_000_000 - load<i64>(p + TIMESPEC_TV_NSEC) + 1_000_000;
  const q = ptr(k.sleep);
  store<i64>(q + TIMESPEC_TV_SEC, ns / 1_000_000_000);
  store<i64>(q + TIMESPEC_TV_NSEC, ns % 1_000_000_000);
  k.handler = onSlept;
  clock_nanosleep(k, CLOCK_MONOTONIC, 0, q, 0);
}

function onRead(r: Request): void {
  const k = changetype<SecondTicker>(r);
  if (k.stopped) return;
  if (r.result < 0) {
    // Keep the last time; try again in a second.
    store<i64>(ptr(k.now) + TIMESPEC_TV_SEC, k.seconds);
    store<i64>(ptr(k.now) + TIMESPEC_TV_NSEC, 0);
  }
  tick(k);
}

function onSlept(r: Request): void {
  const k = changetype<SecondTicker>(r);
  if (k.stopped) return;
  k.handler = onRead;
  clock_gettime(k, CLOCK_REALTIME, ptr(k.now));
}
