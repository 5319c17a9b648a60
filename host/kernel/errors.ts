import { EFAULT, ERRNO_NAMES } from '../abi/v1.js';

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
