import type { Kernel } from './kernel.js';

// What some kernels have and others do not, kept out of the Kernel interface every kernel implements.
// The runtime asks for a capability and adapts when it is there.

/**
 * Simulated time (the virtual kernel): it passes only when the whole VM is idle, so a kernel that
 * has it is asked to advance its clock then (host/placement/virtual-time.ts).
 */
export interface VirtualTime {
  /** Every guest waits and nothing is runnable: advance to the next timer and fire it; true if a call completed. */
  idle(): boolean;
  /** Timers are armed (the home thread keeps checking for idleness). */
  hasTimers(): boolean;
  /** A readiness check that may not wait found nothing: let a little time pass, so a polling loop sees its timers expire. */
  pollIdleTick(): void;
}

/** A kernel whose clock is simulated exposes it as `virtualTime`. */
export interface VirtualTimeKernel extends Kernel {
  readonly virtualTime: VirtualTime;
}

export function virtualTimeOf(kernel: Kernel | null): VirtualTime | null {
  return (kernel as Partial<VirtualTimeKernel> | null)?.virtualTime ?? null;
}

/**
 * A kernel that completes calls from its thread's event loop (real I/O: the os kernel's sockets,
 * timers and thread-pool file calls). Its syscall thread yields to the event loop between passes
 * instead of every few milliseconds.
 */
export interface EventLoopKernel extends Kernel {
  readonly completesOnEventLoop: true;
}

export function completesOnEventLoop(kernel: Kernel | null): boolean {
  return (kernel as Partial<EventLoopKernel> | null)?.completesOnEventLoop === true;
}
