import type { Call } from '../kernel/kernel.js';
import type { GuestSlot } from './guest-slot.js';

/** Receives a call's result; implemented by the syscall thread that executes it. */
export interface CallSink {
  finish(call: EntryCall, result: number): void;
}

/**
 * A Call backed by a syscall entry in guest memory. Arguments are read once when the call starts
 * (the entry is BUSY, the guest does not touch them), and the result is written back by the sink.
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
    readonly guest: GuestSlot,
    /** Entry index in the guest's pages; -1 for the shim entry. */
    readonly index: number,
    readonly thread: number,
    readonly sysno: number,
    readonly a0: number,
    readonly a1: number,
    readonly a2: number,
    readonly a3: number,
    readonly a4: number,
    readonly a5: number,
    readonly flags: number,
  ) {}

  complete(result: number): void {
    if (this.done) return;
    this.done = true;
    this.sink.finish(this, result);
  }
}
