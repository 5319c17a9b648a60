// `flexvm run --trace`: one line per completed system call, as strace writes them. Strings and
// buffers are shown as quoted text, socket addresses and timespecs as structures, flags and
// constants by name; a pointer the guest gave that cannot be read stays a hexadecimal address.
import * as abi from '../abi/v1.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { EntryCall } from './entry-call.js';
import type { ServedGuest } from './served-guest.js';

const NAMES = new Map(abi.SYSCALLS.map((s) => [s.nr, s]));
const TWO_32 = 0x1_0000_0000;
/** How many bytes of a string or buffer are shown (strace's -s default is 32). */
const STRING_MAX = 48;

/** Named bits: `O_RDONLY|O_CLOEXEC` style; what no name covers is added in hexadecimal. */
function flagNames(value: number, names: readonly (readonly [string, number])[], zero: string): string {
  const parts: string[] = [];
  let left = value >>> 0;
  for (const [name, bit] of names) {
    if (bit !== 0 && (left & bit) === bit >>> 0 && bit >>> 0 !== 0) {
      parts.push(name);
      left = (left & ~bit) >>> 0;
    }
  }
  if (left) parts.push(`0x${left.toString(16)}`);
  return parts.length ? parts.join('|') : zero;
}

const OPEN_FLAGS: readonly (readonly [string, number])[] = [
  ['O_CREAT', abi.O_CREAT], ['O_EXCL', abi.O_EXCL], ['O_NOCTTY', abi.O_NOCTTY], ['O_TRUNC', abi.O_TRUNC], ['O_APPEND', abi.O_APPEND],
  ['O_NONBLOCK', abi.O_NONBLOCK], ['O_SYNC', abi.O_SYNC], ['O_DSYNC', abi.O_DSYNC], ['O_DIRECTORY', abi.O_DIRECTORY], ['O_NOFOLLOW', abi.O_NOFOLLOW],
  ['O_CLOEXEC', abi.O_CLOEXEC], ['O_PATH', abi.O_PATH],
];
const SOCK_FLAGS: readonly (readonly [string, number])[] = [['SOCK_NONBLOCK', abi.SOCK_NONBLOCK], ['SOCK_CLOEXEC', abi.SOCK_CLOEXEC]];
const MSG_FLAGS: readonly (readonly [string, number])[] = [['MSG_PEEK', abi.MSG_PEEK], ['MSG_DONTWAIT', abi.MSG_DONTWAIT], ['MSG_WAITALL', abi.MSG_WAITALL], ['MSG_NOSIGNAL', abi.MSG_NOSIGNAL]];
const AT_FLAGS: readonly (readonly [string, number])[] = [['AT_SYMLINK_NOFOLLOW', abi.AT_SYMLINK_NOFOLLOW], ['AT_REMOVEDIR', abi.AT_REMOVEDIR], ['AT_EMPTY_PATH', abi.AT_EMPTY_PATH]];
const EPOLL_EVENTS: readonly (readonly [string, number])[] = [
  ['EPOLLIN', abi.EPOLLIN], ['EPOLLPRI', abi.EPOLLPRI], ['EPOLLOUT', abi.EPOLLOUT], ['EPOLLERR', abi.EPOLLERR], ['EPOLLHUP', abi.EPOLLHUP],
  ['EPOLLRDHUP', abi.EPOLLRDHUP], ['EPOLLEXCLUSIVE', abi.EPOLLEXCLUSIVE], ['EPOLLONESHOT', abi.EPOLLONESHOT], ['EPOLLET', abi.EPOLLET],
];

function named(value: number, table: Record<number, string>): string {
  return table[value] ?? String(value);
}

const FAMILIES: Record<number, string> = { [abi.AF_UNSPEC]: 'AF_UNSPEC', [abi.AF_UNIX]: 'AF_UNIX', [abi.AF_INET]: 'AF_INET', [abi.AF_INET6]: 'AF_INET6' };
const CLOCKS: Record<number, string> = { [abi.CLOCK_REALTIME]: 'CLOCK_REALTIME', [abi.CLOCK_MONOTONIC]: 'CLOCK_MONOTONIC' };
const SHUT: Record<number, string> = { [abi.SHUT_RD]: 'SHUT_RD', [abi.SHUT_WR]: 'SHUT_WR', [abi.SHUT_RDWR]: 'SHUT_RDWR' };
const EPOLL_OPS: Record<number, string> = { [abi.EPOLL_CTL_ADD]: 'EPOLL_CTL_ADD', [abi.EPOLL_CTL_DEL]: 'EPOLL_CTL_DEL', [abi.EPOLL_CTL_MOD]: 'EPOLL_CTL_MOD' };

/** A quoted, escaped string of at most STRING_MAX bytes ("..." after it when longer). */
function quoted(bytes: Uint8Array, total = bytes.length): string {
  let s = '"';
  for (const b of bytes.subarray(0, STRING_MAX)) {
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b === 10) s += '\\n';
    else if (b === 13) s += '\\r';
    else if (b === 9) s += '\\t';
    else if (b < 0x20 || b > 0x7e) s += `\\x${b.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s + '"' + (total > STRING_MAX ? '...' : '');
}

const hex = (p: number): string => `0x${(p >>> 0).toString(16)}`;

/** Reads guest memory, or null when the range is outside it. */
function read(mem: GuestMemory, ptr: number, len: number): Uint8Array | null {
  try {
    return mem.bytes(ptr >>> 0, len);
  } catch {
    return null;
  }
}

function buffer(mem: GuestMemory, ptr: number, len: number): string {
  if (len <= 0) return '""';
  const b = read(mem, ptr, Math.min(len, STRING_MAX));
  return b ? quoted(b, len) : hex(ptr);
}

function cstring(mem: GuestMemory, ptr: number): string {
  try {
    const b = mem.cstringBytes(ptr >>> 0, 4096);
    return quoted(b);
  } catch {
    return hex(ptr);
  }
}

function sockaddr(mem: GuestMemory, ptr: number, len: number): string {
  if (ptr === 0) return 'NULL';
  const b = read(mem, ptr, Math.max(2, Math.min(len, 16)));
  if (!b) return hex(ptr);
  const family = b[0]! | (b[1]! << 8);
  if (family !== abi.AF_INET || b.length < 8) return `{sa_family=${named(family, FAMILIES)}}`;
  const port = (b[2]! << 8) | b[3]!;
  return `{sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr("${b[4]}.${b[5]}.${b[6]}.${b[7]}")}`;
}

function timespec(mem: GuestMemory, ptr: number): string {
  if (ptr === 0) return 'NULL';
  const b = read(mem, ptr, 16);
  if (!b) return hex(ptr);
  const v = new DataView(b.buffer, b.byteOffset, 16);
  return `{tv_sec=${v.getBigInt64(0, true)}, tv_nsec=${v.getBigInt64(8, true)}}`;
}

function u32At(mem: GuestMemory, ptr: number): string {
  const b = read(mem, ptr, 4);
  return b ? `[${new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)}]` : hex(ptr);
}

function fd(v: number): string {
  return v === abi.AT_FDCWD ? 'AT_FDCWD' : String(v);
}

/**
 * The strace-like line for a completed call: `[pid] name(args) = result ERRNO (thread N)`.
 * `slots` are the entry's six argument words; output buffers are shown only when the call succeeded.
 */
export function formatTrace(pid: number, sysno: number, slots: readonly number[], nowait: boolean, result: number, thread: number, mem: GuestMemory): string {
  const info = NAMES.get(sysno);
  const a = (i: number): number => slots[i]! | 0;
  const ok = result >= 0;
  let args: string[];
  const name = info?.name ?? `syscall_${sysno}`;
  switch (name) {
    case 'read':
    case 'pread64':
      args = [String(a(0)), ok ? buffer(mem, a(1), result) : hex(a(1)), String(a(2) >>> 0)];
      if (name === 'pread64') args.push(String(a(4) * TWO_32 + (a(3) >>> 0)));
      break;
    case 'write':
    case 'pwrite64':
      args = [String(a(0)), buffer(mem, a(1), a(2) >>> 0), String(a(2) >>> 0)];
      if (name === 'pwrite64') args.push(String(a(4) * TWO_32 + (a(3) >>> 0)));
      break;
    case 'sendto':
      args = [String(a(0)), buffer(mem, a(1), a(2) >>> 0), String(a(2) >>> 0), flagNames(a(3), MSG_FLAGS, '0'), a(4) ? sockaddr(mem, a(4), a(5)) : 'NULL', String(a(5))];
      break;
    case 'recvfrom':
      args = [String(a(0)), ok ? buffer(mem, a(1), result) : hex(a(1)), String(a(2) >>> 0), flagNames(a(3), MSG_FLAGS, '0'), a(4) && ok ? sockaddr(mem, a(4), 16) : a(4) ? hex(a(4)) : 'NULL', a(5) ? hex(a(5)) : 'NULL'];
      break;
    case 'openat': {
      const access = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][a(2) & abi.O_ACCMODE]!;
      const rest = a(2) & ~abi.O_ACCMODE;
      args = [fd(a(0)), cstring(mem, a(1)), rest ? `${access}|${flagNames(rest, OPEN_FLAGS, '')}` : access];
      if (a(2) & abi.O_CREAT) args.push(`0${(a(3) >>> 0).toString(8)}`);
      break;
    }
    case 'setsockopt':
    case 'getsockopt': {
      const level = named(a(1), { [abi.SOL_SOCKET]: 'SOL_SOCKET', [abi.IPPROTO_TCP]: 'IPPROTO_TCP' });
      const opts: Record<number, string> = a(1) === abi.SOL_SOCKET
        ? { [abi.SO_REUSEADDR]: 'SO_REUSEADDR', [abi.SO_TYPE]: 'SO_TYPE', [abi.SO_ERROR]: 'SO_ERROR', [abi.SO_SNDBUF]: 'SO_SNDBUF', [abi.SO_RCVBUF]: 'SO_RCVBUF', [abi.SO_KEEPALIVE]: 'SO_KEEPALIVE', [abi.SO_LINGER]: 'SO_LINGER', [abi.SO_REUSEPORT]: 'SO_REUSEPORT' }
        : a(1) === abi.IPPROTO_TCP ? { [abi.TCP_NODELAY]: 'TCP_NODELAY' } : {};
      const value = name === 'setsockopt' || ok ? (() => { const b = read(mem, a(3), 4); return b ? `[${new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true)}]` : hex(a(3)); })() : hex(a(3));
      args = [String(a(0)), level, named(a(2), opts), value, name === 'setsockopt' ? String(a(4) >>> 0) : u32At(mem, a(4))];
      break;
    }
    case 'mkdirat':
      args = [fd(a(0)), cstring(mem, a(1)), `0${(a(2) >>> 0).toString(8)}`];
      break;
    case 'newfstatat':
      args = [fd(a(0)), cstring(mem, a(1)), hex(a(2)), flagNames(a(3), AT_FLAGS, '0')];
      break;
    case 'unlinkat':
      args = [fd(a(0)), cstring(mem, a(1)), flagNames(a(2), AT_FLAGS, '0')];
      break;
    case 'renameat':
      args = [fd(a(0)), cstring(mem, a(1)), fd(a(2)), cstring(mem, a(3))];
      break;
    case 'socket':
      args = [named(a(0), FAMILIES), [a(1) & 0xf ? ({ [abi.SOCK_STREAM]: 'SOCK_STREAM', [abi.SOCK_DGRAM]: 'SOCK_DGRAM' } as Record<number, string>)[a(1) & 0xf] ?? String(a(1) & 0xf) : '0', ...(a(1) & ~0xf ? [flagNames(a(1) & ~0xf, SOCK_FLAGS, '')] : [])].join('|'), String(a(2))];
      break;
    case 'bind':
    case 'connect':
      args = [String(a(0)), sockaddr(mem, a(1), a(2)), String(a(2) >>> 0)];
      break;
    case 'accept4':
      args = [String(a(0)), a(1) === 0 ? 'NULL' : ok ? sockaddr(mem, a(1), 16) : hex(a(1)), a(2) === 0 ? 'NULL' : u32At(mem, a(2)), flagNames(a(3), SOCK_FLAGS, '0')];
      break;
    case 'getsockname':
    case 'getpeername':
      args = [String(a(0)), ok ? sockaddr(mem, a(1), 16) : hex(a(1)), u32At(mem, a(2))];
      break;
    case 'shutdown':
      args = [String(a(0)), named(a(1), SHUT)];
      break;
    case 'clock_gettime':
      args = [named(a(0), CLOCKS), ok ? timespec(mem, a(1)) : hex(a(1))];
      break;
    case 'clock_nanosleep':
      args = [named(a(0), CLOCKS), a(1) === 1 ? 'TIMER_ABSTIME' : String(a(1)), timespec(mem, a(2)), a(3) ? hex(a(3)) : 'NULL'];
      break;
    case 'nanosleep':
      args = [timespec(mem, a(0)), a(1) ? hex(a(1)) : 'NULL'];
      break;
    case 'epoll_ctl': {
      const ev = a(3) ? read(mem, a(3), 12) : null;
      const event = ev ? `{events=${flagNames(new DataView(ev.buffer, ev.byteOffset, 12).getUint32(0, true), EPOLL_EVENTS, '0')}, data=${new DataView(ev.buffer, ev.byteOffset, 12).getBigUint64(4, true)}}` : a(3) ? hex(a(3)) : 'NULL';
      args = [String(a(0)), named(a(1), EPOLL_OPS), String(a(2)), event];
      break;
    }
    case 'epoll_create1':
      args = [a(0) === abi.EPOLL_CLOEXEC ? 'EPOLL_CLOEXEC' : String(a(0))];
      break;
    case 'sendfile':
      args = [String(a(0)), String(a(1)), a(2) ? (() => { const b = read(mem, a(2), 8); return b ? `[${new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true)}]` : hex(a(2)); })() : 'NULL', String(a(3) >>> 0)];
      break;
    default:
      args = info
        ? info.args.map((x) => (x.type === 'i64' ? String(a(x.slot + 1) * TWO_32 + (a(x.slot) >>> 0)) : x.type === 'cstr' ? cstring(mem, a(x.slot)) : x.type === 'ptr' ? hex(a(x.slot)) : x.type === 'u32' ? String(a(x.slot) >>> 0) : String(a(x.slot))))
        : slots.map(String);
  }
  const err = result < 0 ? ` ${abi.ERRNO_NAMES[-result] ?? ''}` : '';
  return `[${pid}] ${name}(${args.join(', ')})${nowait ? ' NOWAIT' : ''} = ${result}${err} (thread ${thread})`;
}

/** `[pid] name(args) = result` for a completed call (flexvm run --trace). */
export function traceLine(g: ServedGuest, call: EntryCall, result: number): string {
  return formatTrace(g.pid, call.sysno, [call.a0, call.a1, call.a2, call.a3, call.a4, call.a5], call.flags !== 0, result, call.thread, g.memory);
}
