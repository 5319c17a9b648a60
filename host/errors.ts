import { EFAULT, ERRNO_NAMES } from './abi/v1.js';

/**
 * An error a kernel throws to fail the current call with `-errno`. Throwing is a convenience inside a
 * kernel: the syscall thread catches it and posts the negative errno; nothing is thrown across the ABI.
 */
export class SysError extends Error {
  constructor(
    readonly errno: number,
    detail?: string,
  ) {
    super(`${ERRNO_NAMES[errno] ?? `errno ${errno}`}${detail ? `: ${detail}` : ''}`);
  }
}

/** A guest pointer or length that falls outside its linear memory. */
export class GuestFault extends SysError {
  constructor(ptr: number, len: number) {
    super(EFAULT, `[${ptr >>> 0}, +${len >>> 0}) is outside guest memory`);
  }
}

/** Name of an errno value, for messages: `errnoName(2) === 'ENOENT'`. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[Math.abs(errno)] ?? `errno ${errno}`;
}

/**
 * Ends a guest with an exit status (proc_exit, a trap, a refusal to run it, or the host stopping it),
 * thrown out of the guest's imports and caught where the guest was entered.
 */
export class GuestExit extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
  ) {
    super(reason ?? `exit ${status}`);
  }
}

// Exit statuses the host gives a guest that did not choose its own, as a shell gives a process.
/** The guest cannot run: it fails to link, exports no entry point, or has no kernel to run beside (a shell's "cannot execute"). */
export const EXIT_CANNOT_RUN = 127;
/** Stopped by the host on request (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** It trapped or aborted (128 + SIGABRT). */
export const EXIT_TRAP = 134;
/** Terminated after ignoring a stop request for the grace period (128 + SIGKILL). */
export const EXIT_KILLED = 137;

/**
 * A log line for a failure inside the host (a kernel that threw something other than SysError, a
 * cancel hook or detach that threw, a message that could not be handled): the guest got -EIO or
 * nothing, and the host carried on. Every such line starts with this prefix, so that tests can fail
 * the run that caused one.
 */
export const INTERNAL_ERROR_PREFIX = 'internal error: ';

export function internalError(message: string): string {
  return INTERNAL_ERROR_PREFIX + message;
}
