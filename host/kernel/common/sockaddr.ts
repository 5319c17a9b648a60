import {
  AF_INET,
  EINVAL,
  SOCKADDR_IN_SIN_ADDR,
  SOCKADDR_IN_SIN_FAMILY,
  SOCKADDR_IN_SIN_PORT,
  SOCKADDR_IN_SIZE,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** sizeof(struct sockaddr_storage): Linux refuses longer addresses with EINVAL. */
export const SOCKADDR_STORAGE_SIZE = 128;

/** An IPv4 endpoint in host byte order. */
export interface InetAddress {
  /** u32, e.g. 0x7f000001 for 127.0.0.1. */
  readonly addr: number;
  readonly port: number;
}

/** A socket address as the guest passed it (the caller checks the family and the length it needs). */
export interface GuestSockaddr extends InetAddress {
  readonly family: number;
  readonly len: number;
}

/**
 * Reads a socket address of `len` bytes (u32 slot) as bind/connect do: EINVAL when the length is
 * negative or larger than sockaddr_storage, EFAULT when the bytes are not in memory. Fields past
 * `len` read as zero.
 */
export function readSockaddr(memory: GuestMemory, ptr: number, len: number): GuestSockaddr {
  const n = len | 0;
  if (n < 0 || n > SOCKADDR_STORAGE_SIZE) throw new SysError(EINVAL, `addrlen ${len >>> 0}`);
  const bytes = new Uint8Array(SOCKADDR_IN_SIZE);
  if (n > 0) bytes.set(memory.bytes(ptr, n).subarray(0, SOCKADDR_IN_SIZE));
  const view = new DataView(bytes.buffer);
  return {
    family: view.getUint16(SOCKADDR_IN_SIN_FAMILY, true),
    port: view.getUint16(SOCKADDR_IN_SIN_PORT, false),
    addr: view.getUint32(SOCKADDR_IN_SIN_ADDR, false),
    len: n,
  };
}

/** The 16 bytes of a struct sockaddr_in (family AF_INET, port and address in network order). */
export function encodeSockaddrIn(a: InetAddress): Uint8Array {
  const bytes = new Uint8Array(SOCKADDR_IN_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(SOCKADDR_IN_SIN_FAMILY, AF_INET, true);
  view.setUint16(SOCKADDR_IN_SIN_PORT, a.port, false);
  view.setUint32(SOCKADDR_IN_SIN_ADDR, a.addr >>> 0, false);
  return bytes;
}

/**
 * Returns an address to the guest with Linux's in/out length rule (move_addr_to_user): reads the
 * buffer size at `lenPtr` (EINVAL if negative), copies at most that many bytes of `addr` (truncating
 * silently), then stores the full length at `lenPtr`. `addr` null returns an empty address (length 0).
 */
export function writeSockaddr(memory: GuestMemory, ptr: number, lenPtr: number, addr: InetAddress | null): void {
  const room = memory.i32At(lenPtr);
  const bytes = addr === null ? new Uint8Array(0) : encodeSockaddrIn(addr);
  if (room < 0) throw new SysError(EINVAL, 'negative addrlen');
  const n = Math.min(room, bytes.length);
  if (n > 0) memory.write(ptr, bytes.subarray(0, n));
  memory.setI32(lenPtr, bytes.length);
}

/** 127.0.0.0/8. */
export function isLoopback(addr: number): boolean {
  return addr >>> 24 === 127;
}

