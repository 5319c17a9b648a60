import { EBADF, EMFILE } from '../../abi/v1.js';
import { SysError } from '../../errors.js';

/** One open descriptor: what it refers to, and its own close-on-exec flag (F_GETFD/F_SETFD). */
export interface FdEntry<T> {
  readonly value: T;
  cloexec: boolean;
}

/**
 * A process's descriptor table under flexvm's numbering rule (see kernel.ts): a descriptor created by
 * a call on syscall thread `t` gets the lowest free number `fd` with `fd % classes === t`, so the guest
 * can route every later call on it to thread `fd % classes` without a lookup table. With one class
 * this is the POSIX "lowest free descriptor" rule.
 *
 * `maxFds` bounds the number of open descriptors (not their numbers); past it allocation fails with
 * EMFILE. Each class keeps the numbers it has handed out and given back, so allocation is O(log n).
 */
export class FdTable<T> {
  private readonly entries = new Map<number, FdEntry<T>>();
  /** Per class c: the lowest k for which fd = c + k * classes was never handed out. */
  private readonly fresh: number[];
  /** Per class: numbers below the fresh mark that are free again. */
  private readonly freed: NumberHeap[];

  constructor(
    readonly classes: number,
    readonly maxFds: number,
  ) {
    if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`fd classes must be >= 1, got ${classes}`);
    if (!Number.isInteger(maxFds) || maxFds < 0) throw new RangeError(`maxFds must be >= 0, got ${maxFds}`);
    this.fresh = new Array<number>(classes).fill(0);
    this.freed = Array.from({ length: classes }, () => new NumberHeap());
  }

  /** Number of open descriptors. */
  get size(): number {
    return this.entries.size;
  }

  /** The class a call posted to `thread` allocates in (a thread beyond the classes wraps around). */
  classOf(thread: number): number {
    const t = Math.trunc(thread) % this.classes;
    return t < 0 ? t + this.classes : t;
  }

  /** True when `count` more descriptors fit under maxFds. */
  hasRoom(count = 1): boolean {
    return this.entries.size + count <= this.maxFds;
  }

  get(fd: number): FdEntry<T> | undefined {
    return this.entries.get(fd);
  }

  /** The object behind `fd`, or SysError(EBADF). */
  lookup(fd: number): T {
    const entry = this.entries.get(fd);
    if (entry === undefined) throw new SysError(EBADF);
    return entry.value;
  }

  /** Gives `value` the lowest free number of `thread`'s class; SysError(EMFILE) past maxFds. */
  allocate(thread: number, value: T, cloexec = false): number {
    if (!this.hasRoom()) throw new SysError(EMFILE);
    const c = this.classOf(thread);
    const heap = this.freed[c]!;
    let fd: number;
    if (heap.size > 0) {
      fd = heap.pop();
    } else {
      fd = c + this.fresh[c]! * this.classes;
      this.fresh[c]!++;
    }
    this.entries.set(fd, { value, cloexec });
    return fd;
  }

  /** Puts `value` at a chosen free number (the standard streams at attach). */
  install(fd: number, value: T, cloexec = false): void {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`bad descriptor number ${fd}`);
    if (this.entries.has(fd)) throw new RangeError(`descriptor ${fd} is in use`);
    if (!this.hasRoom()) throw new SysError(EMFILE);
    const c = fd % this.classes;
    const k = (fd - c) / this.classes;
    const heap = this.freed[c]!;
    if (k >= this.fresh[c]!) {
      // Numbers skipped over become free numbers below the fresh mark.
      for (let j = this.fresh[c]!; j < k; j++) heap.push(c + j * this.classes);
      this.fresh[c] = k + 1;
    } else {
      heap.remove(fd);
    }
    this.entries.set(fd, { value, cloexec });
  }

  /** Frees `fd`; returns what it referred to (undefined when it was not open). */
  remove(fd: number): FdEntry<T> | undefined {
    const entry = this.entries.get(fd);
    if (entry === undefined) return undefined;
    this.entries.delete(fd);
    this.freed[fd % this.classes]!.push(fd);
    return entry;
  }

  /** Open descriptor numbers, ascending. */
  fds(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }
}

/** A binary min-heap of numbers (free descriptor numbers of one class). */
class NumberHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(n: number): void {
    const a = this.items;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= n) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = n;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const child = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[child]! >= last) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }

  /** Removes one occurrence of `n` (rare: installing a number that had been freed). */
  remove(n: number): void {
    const rest = this.items.filter((x) => x !== n);
    this.items.length = 0;
    for (const x of rest) this.push(x);
  }
}
