// The home placement (a kernel with one instance for the whole VM, on syscall thread 0): the other
// syscall threads still own pages, claim and order entries, but forward what they claim through a
// ring in shared memory to the home thread, which executes it.
import type { CallRunner } from '../syscall/call-runner.js';
import type { ServedGuest } from '../syscall/served-guest.js';
import type { VmShared } from '../syscall/vm-shared.js';
import { FWD_CANCEL, type ForwardRing } from './forward-ring.js';

/** A forwarding thread's side: entries it claimed, on their way to the home thread. */
export class Forwarder {
  /** Records a full ring could not take yet. */
  private readonly backlog: [number, number, number][] = [];

  constructor(
    private readonly ring: ForwardRing,
    private readonly shared: VmShared,
  ) {}

  /** Everything claimed has reached the ring. */
  get caughtUp(): boolean {
    return this.backlog.length === 0;
  }

  forward(gid: number, index: number, kind: number): void {
    if (this.backlog.length || !this.ring.push(gid, index, kind)) {
      this.backlog.push([gid, index, kind]);
      return;
    }
    this.shared.wake(0);
  }

  /** Moves what the ring can take now; returns how many records moved. */
  retryBacklog(): number {
    let n = 0;
    while (this.backlog.length) {
      const [gid, index, kind] = this.backlog[0]!;
      if (!this.ring.push(gid, index, kind)) break;
      this.backlog.shift();
      n++;
    }
    if (n) this.shared.wake(0);
    return n;
  }
}

/**
 * The home thread's side: drains every forwarding thread's ring and runs (or cancels) the entries in
 * the order they were claimed. Entries for a guest whose attach message has not reached this thread
 * yet (every thread is told separately) wait until it does; those of a guest that left are dropped.
 */
export class HomeInbox {
  readonly rings: ForwardRing[] = [];
  private readonly early = new Map<number, [number, number, number][]>();
  private readonly gone = new Set<number>();

  constructor(
    shared: VmShared,
    threadCount: number,
    private readonly guest: (gid: number) => ServedGuest | undefined,
    private readonly runner: CallRunner,
  ) {
    for (let t = 1; t < threadCount; t++) this.rings.push(shared.ring(t));
  }

  /** Runs every record present in the rings; returns how many. */
  drain(): number {
    let n = 0;
    for (const ring of this.rings) n += ring.drain(this.onForwarded);
    return n;
  }

  /** A guest attached here: runs what was forwarded for it before. */
  arrived(served: ServedGuest): void {
    const early = this.early.get(served.gid);
    if (!early) return;
    this.early.delete(served.gid);
    for (const [index, kind, from] of early) this.onForwarded(served.gid, index, kind, from);
  }

  left(gid: number): void {
    this.early.delete(gid);
    this.gone.add(gid);
  }

  /** Forwarded entries wait for a guest's attach message. */
  get waitingForAttach(): boolean {
    return this.early.size !== 0;
  }

  /** No record is in transit in any ring. */
  get ringsEmpty(): boolean {
    for (const ring of this.rings) if (!ring.empty) return false;
    return true;
  }

  /** An entry claimed by forwarding thread `from`'s scan. */
  private readonly onForwarded = (gid: number, index: number, kind: number, from: number): void => {
    const g = this.guest(gid);
    if (!g) {
      // Not attached here yet (a forwarding thread heard of it first), or gone.
      if (!this.gone.has(gid)) {
        const list = this.early.get(gid);
        if (list) list.push([index, kind, from]);
        else this.early.set(gid, [[index, kind, from]]);
      }
      return;
    }
    g.syncPages(); // the forwarding thread may have claimed it in a page added since this thread looked
    if (kind === FWD_CANCEL) this.runner.interrupt(g, index);
    else this.runner.execute(g, index, from);
  };
}
