import { EAGAIN, EIO, EOPNOTSUPP, EPIPE, ERRNO_NAMES, ETIMEDOUT } from '../../abi/v1.js';
import { SysError } from '../../errors.js';

/** Linux errno numbers by name, from the ABI table (the guest sees Linux numbers whatever the host). */
const BY_NAME = new Map<string, number>(Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]));

/** Codes Node or libuv report that have no entry of their own in the ABI table. */
const ALIASES: Readonly<Record<string, number>> = {
  EWOULDBLOCK: EAGAIN,
  ENOTSUP: EOPNOTSUPP,
  // A write on a stream Node has already ended or destroyed: what Linux says for a closed pipe/socket.
  ERR_STREAM_DESTROYED: EPIPE,
  ERR_STREAM_WRITE_AFTER_END: EPIPE,
  ERR_SOCKET_CLOSED: EPIPE,
  ERR_SOCKET_CONNECTION_TIMEOUT: ETIMEDOUT,
};

/** The Linux errno (positive) for an error from Node's fs or net; EIO when it has no known code. */
export function errnoOf(e: unknown): number {
  if (e instanceof SysError) return e.errno;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return EIO;
  return BY_NAME.get(code) ?? ALIASES[code] ?? EIO;
}

/** True when `e` is an error we can answer with an errno (not a bug in the kernel). */
export function isSystemError(e: unknown): boolean {
  if (e instanceof SysError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (BY_NAME.has(code) || code in ALIASES);
}
