// Building and reading the structures system calls take: C strings, sockaddr_in, timespec, stat.

import {
  AF_INET, INADDR_LOOPBACK, SOCKADDR_IN_SIZE, SOCKADDR_IN_SIN_FAMILY, SOCKADDR_IN_SIN_PORT, SOCKADDR_IN_SIN_ADDR,
  TIMESPEC_SIZE, TIMESPEC_TV_SEC, TIMESPEC_TV_NSEC, STAT_ST_SIZE, STAT_ST_MODE, STAT_ST_MTIME_SEC, STAT_ST_MTIME_NSEC, STAT_SIZE,
} from "./abi";

/** The address of an ArrayBuffer's bytes, for a call's pointer argument. */
@inline export function ptr(buf: ArrayBuffer): usize {
  return changetype<usize>(buf);
}

/** A NUL-terminated UTF-8 copy of `s`, for path arguments. Keep it alive until the call completes. */
export function cstr(s: string): ArrayBuffer {
  return String.UTF8.encode(s, true);
}

@inline function bswap16(v: u16): u16 {
  return <u16>((v << 8) | (v >> 8));
}

/** A sockaddr_in for `port` at IPv4 address `addr` (host byte order; loopback by default). */
export function sockaddrIn(port: i32, addr: u32 = <u32>INADDR_LOOPBACK): ArrayBuffer {
  const b = new ArrayBuffer(SOCKADDR_IN_SIZE);
  const p = changetype<usize>(b);
  store<u16>(p + SOCKADDR_IN_SIN_FAMILY, <u16>AF_INET);
  store<u16>(p + SOCKADDR_IN_SIN_PORT, bswap16(<u16>port));
  store<u32>(p + SOCKADDR_IN_SIN_ADDR, bswap<u32>(addr));
  return b;
}

/**
 * Parses a dotted-quad IPv4 address ("127.0.0.1") like inet_pton: four decimal numbers of 0-255.
 * Returns the address in host byte order, or -1 when `text` is not one.
 */
export function inetAddr(text: string): i64 {
  const parts = text.split(".");
  if (parts.length != 4) return -1;
  let a: u32 = 0;
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (part.length == 0 || part.length > 3) return -1;
    let n: u32 = 0;
    for (let j = 0; j < part.length; j++) {
      const c = part.charCodeAt(j);
      if (c < 48 || c > 57) return -1;
      n = n * 10 + <u32>(c - 48);
    }
    if (n > 255) return -1;
    a = (a << 8) | n;
  }
  return <i64>a;
}

/** The port (host byte order) of the sockaddr_in at `p`. */
export function sockaddrPort(p: usize): i32 {
  return <i32>bswap16(load<u16>(p + SOCKADDR_IN_SIN_PORT));
}

/** A timespec holding `ns` nanoseconds, for timeouts. */
export function timespec(ns: i64): ArrayBuffer {
  const b = new ArrayBuffer(TIMESPEC_SIZE);
  const p = changetype<usize>(b);
  store<i64>(p + TIMESPEC_TV_SEC, ns / 1_000_000_000);
  store<i64>(p + TIMESPEC_TV_NSEC, ns % 1_000_000_000);
  return b;
}

/** Nanoseconds held by the timespec at `p`. */
export function timespecNs(p: usize): i64 {
  return load<i64>(p + TIMESPEC_TV_SEC) * 1_000_000_000 + load<i64>(p + TIMESPEC_TV_NSEC);
}

/** Room for one struct stat. */
export function statBuffer(): ArrayBuffer {
  return new ArrayBuffer(STAT_SIZE);
}
export function statSize(p: usize): i64 {
  return load<i64>(p + STAT_ST_SIZE);
}
export function statMode(p: usize): u32 {
  return load<u32>(p + STAT_ST_MODE);
}
/** st_mtim's seconds: the last modification, in seconds since the epoch. */
export function statMtime(p: usize): i64 {
  return load<i64>(p + STAT_ST_MTIME_SEC);
}
/** st_mtim's nanoseconds (0 to 999,999,999). */
export function statMtimeNsec(p: usize): i64 {
  return load<i64>(p + STAT_ST_MTIME_NSEC);
}
