import {
  ST_SUBMITTED, ST_BUSY, TW_SQ_TAIL, HW_NEXT_SEQ, threadLineW, hostLineW,
} from '../abi/v1.js';
import type { VirtualTime } from '../kernel/capabilities.js';
import type { ServedGuest } from '../syscall/served-guest.js';
import type { VmShared } from '../syscall/vm-shared.js';
import type { HomeInbox } from './home.js';

/**
 * Virtual-time idleness, on the home thread of a kernel with simulated time: when every guest
 * waits, nothing is starting, every thread has taken everything posted and no forwarded entry is in
 * transit, the kernel may advance its clock to the next timer.
 */
export class VirtualTimeIdleness {
  constructor(
    private readonly time: VirtualTime,
    private readonly shared: VmShared,
    private readonly guests: readonly ServedGuest[],
    private readonly inbox: HomeInbox,
  ) {}

  /** Timers are armed: the home thread keeps checking for idleness (and sleeps at most 1 ms). */
  get armed(): boolean {
    return this.time.hasTimers();
  }

  /** Advances the clock if the whole VM is idle; true when that made progress. */
  advance(): boolean {
    if (!this.time.hasTimers()) return false;
    if (Atomics.load(this.shared.i32, this.shared.startingWord) !== 0 || this.inbox.waitingForAttach) return false;
    for (const g of this.guests) {
      if (g.scanned) {
        if (Atomics.load(g.i32, g.waitingW) === 0) return false;
        // Waiting, but with results to take (woken, or about to look): it will run, not idle.
        if (g.holdsCompletions()) return false;
        if (!tailsTaken(g)) return false;
      } else if (!g.colocatedSuspended) return false;
    }
    // After the tails: a forwarding thread fills its ring before it publishes how far it took.
    if (!this.inbox.ringsEmpty) return false;
    // The reads above are no snapshot: a guest could have been woken, taken its results and cleared
    // its flag meanwhile. Still waiting now with nothing new posted, it went back to waiting (posting
    // nothing) or never left: idle either way.
    for (const g of this.guests) if (g.scanned && (Atomics.load(g.i32, g.waitingW) === 0 || !tailsTaken(g))) return false;
    return this.time.idle();
  }
}

/**
 * Every call guest `g` posted has been taken by the syscall thread it was posted to. (An import
 * shim's call has no tail: it is taken once it executes here, not while posted or on its way.)
 */
function tailsTaken(g: ServedGuest): boolean {
  const shim = Atomics.load(g.i32, g.shimW);
  if (shim === ST_SUBMITTED || (shim === ST_BUSY && !g.inflight.has(-1))) return false;
  for (let t = 0; t < g.threads; t++) {
    const tail = Atomics.load(g.i32, threadLineW(g.layout.ctrl, t) + TW_SQ_TAIL);
    if (tail !== Atomics.load(g.i32, hostLineW(g.layout.ctrl, t) + HW_NEXT_SEQ)) return false;
  }
  return true;
}
