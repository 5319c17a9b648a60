/** Something to tell when an object's state changes: a parked call, an epoll interest item. */
export interface Watcher {
  /** Called synchronously on a change; implementations only schedule work, never re-enter objects. */
  notify(): void;
}

/**
 * The watchers of one waitable object (pipe end, socket, epoll instance...). Objects call `notify`
 * on every change that can alter their readiness; watchers re-check the state themselves, so a
 * spurious notification costs a retry, never a wrong result. Watchers are told in registration
 * order, which keeps runs deterministic and waiting calls first-come first-served.
 */
export class WaitQueue {
  private readonly watchers = new Set<Watcher>();

  get size(): number {
    return this.watchers.size;
  }

  add(w: Watcher): void {
    this.watchers.add(w);
  }

  remove(w: Watcher): void {
    this.watchers.delete(w);
  }

  notify(): void {
    for (const w of this.watchers) w.notify();
  }
}
