import type { Call } from '../kernel/kernel.js';
import type { ServedGuest } from './served-guest.js';

/** Receives a call's result; implemented by the syscall thread that executes it. */
export interface CallSink {
  finish(call: EntryCall, result: number): void;
}

/**
 * A Call backed by a syscall entry in guest memory. Arguments are read once when the call starts
 * (the entry is BUSY, the guest does not touch them), and the result is written back by the sink.
 * A call that completes inside Kernel.syscall() is recycled for the next one (the kernel interface
 * forbids keeping such a call), which keeps the hot path free of allocations.
 */
export class EntryCall implements Call {
  onCancel: (() => void) | null = null;
  done = false;
  /** The guest asked to cancel while the call ran. */
  cancelRequested = false;
  /** epoll-mode calls started through `yield`: run when the call completes. */
  onDone: (() => void) | null = null;

  constructor(
    private readonly sink: CallSink,
    public guest: ServedGuest,
    /** Entry index in the guest's pages; -1 for the shim entry. */
    public index: number,
    public thread: number,
    public sysno: number,
    public a0: number,
    public a1: number,
    public a2: number,
    public a3: number,
    public a4: number,
    public a5: number,
    public flags: number,
  ) {}

  /** Makes a finished call describe a new one. */
  reset(guest: ServedGuest, index: number, thread: number, sysno: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, flags: number): this {
    this.guest = guest;
    this.index = index;
    this.thread = thread;
    this.sysno = sysno;
    this.a0 = a0;
    this.a1 = a1;
    this.a2 = a2;
    this.a3 = a3;
    this.a4 = a4;
    this.a5 = a5;
    this.flags = flags;
    this.onCancel = null;
    this.done = false;
    this.cancelRequested = false;
    this.onDone = null;
    return this;
  }

  complete(result: number): void {
    if (this.done) return;
    this.done = true;
    this.sink.finish(this, result);
  }
}
