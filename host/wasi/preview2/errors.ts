import {
  EPERM, ENOENT, EINTR, EIO, ENXIO, EBADF, EAGAIN, ENOMEM, EACCES, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR,
  EINVAL, ENOTTY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDEADLK, ENAMETOOLONG, ENOSYS, ENOTEMPTY, ELOOP,
  EMSGSIZE, EOPNOTSUPP, EALREADY, EINPROGRESS, ERRNO_NAMES,
} from '../../abi/v1.js';

/** `wasi:filesystem/types` error-code, the name the component sees. */
export type FsErrorCode = string;

/** Linux errno values the kernels return, as `wasi:filesystem` error codes (wasmtime's mapping). */
const CODES: Readonly<Record<number, FsErrorCode>> = {
  [EPERM]: 'not-permitted', [ENOENT]: 'no-entry', [EINTR]: 'interrupted', [EIO]: 'io', [ENXIO]: 'no-such-device',
  [EBADF]: 'bad-descriptor', [EAGAIN]: 'would-block', [ENOMEM]: 'insufficient-memory', [EACCES]: 'access',
  [EBUSY]: 'busy', [EEXIST]: 'exist', [EXDEV]: 'cross-device', [ENODEV]: 'no-device', [ENOTDIR]: 'not-directory',
  [EISDIR]: 'is-directory', [EINVAL]: 'invalid', [ENOTTY]: 'no-tty', [EFBIG]: 'file-too-large',
  [ENOSPC]: 'insufficient-space', [ESPIPE]: 'invalid-seek', [EROFS]: 'read-only', [EMLINK]: 'too-many-links',
  [EPIPE]: 'pipe', [EDEADLK]: 'deadlock', [ENAMETOOLONG]: 'name-too-long', [ENOSYS]: 'unsupported',
  [ENOTEMPTY]: 'not-empty', [ELOOP]: 'loop', [EMSGSIZE]: 'message-size', [EOPNOTSUPP]: 'unsupported',
  [EALREADY]: 'already', [EINPROGRESS]: 'in-progress', 26: 'text-file-busy', 122: 'quota', 84: 'illegal-byte-sequence',
  75: 'overflow', 37: 'no-lock', 131: 'not-recoverable',
};

/** A negative Linux result as a filesystem error code (anything unknown: `io`). */
export function fsCode(linuxResult: number): FsErrorCode {
  return CODES[-linuxResult] ?? 'io';
}

/**
 * `wasi:io/error`'s `error` resource: what a stream's `last-operation-failed` carries. It remembers
 * the Linux errno so `wasi:filesystem/types.filesystem-error-code` can say what went wrong.
 */
export class IoError {
  constructor(readonly linuxErrno: number, private readonly what: string) {}

  toDebugString(): string {
    return `${this.what}: ${ERRNO_NAMES[this.linuxErrno] ?? `errno ${this.linuxErrno}`}`;
  }
}

/** The stream-error a failed stream operation throws (jco turns a thrown non-Error into `err`). */
export function streamFailure(linuxResult: number, what: string): { tag: 'last-operation-failed'; val: IoError } | { tag: 'closed' } {
  if (linuxResult === -EPIPE) return { tag: 'closed' };
  return { tag: 'last-operation-failed', val: new IoError(-linuxResult, what) };
}
