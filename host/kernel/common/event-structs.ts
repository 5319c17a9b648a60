import {
  EPOLL_EVENT_DATA,
  EPOLL_EVENT_EVENTS,
  EPOLL_EVENT_SIZE,
  POLLFD_EVENTS,
  POLLFD_FD,
  POLLFD_REVENTS,
  POLLFD_SIZE,
} from '../../abi/v1.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** struct epoll_event: an event mask and 64 bits of user data returned untouched (as two u32). */
export interface EpollEvent {
  readonly events: number;
  readonly dataLo: number;
  readonly dataHi: number;
}

export function readEpollEvent(memory: GuestMemory, ptr: number): EpollEvent {
  memory.check(ptr, EPOLL_EVENT_SIZE);
  return {
    events: memory.u32(ptr + EPOLL_EVENT_EVENTS),
    dataLo: memory.u32(ptr + EPOLL_EVENT_DATA),
    dataHi: memory.u32(ptr + EPOLL_EVENT_DATA + 4),
  };
}

/** Writes the `index`th element of an epoll_event array. */
export function writeEpollEvent(memory: GuestMemory, base: number, index: number, e: EpollEvent): void {
  const ptr = (base >>> 0) + index * EPOLL_EVENT_SIZE;
  memory.setU32(ptr + EPOLL_EVENT_EVENTS, e.events);
  memory.setU32(ptr + EPOLL_EVENT_DATA, e.dataLo);
  memory.setU32(ptr + EPOLL_EVENT_DATA + 4, e.dataHi);
}

/** One struct pollfd as poll() reads it. */
export interface PollRequest {
  readonly fd: number;
  /** Requested events (the u16 bits of the i16 field). */
  readonly events: number;
}

/** Reads `nfds` struct pollfd (the caller checked the range). */
export function readPollfds(memory: GuestMemory, ptr: number, nfds: number): PollRequest[] {
  memory.check(ptr, nfds * POLLFD_SIZE);
  const out: PollRequest[] = [];
  for (let i = 0; i < nfds; i++) {
    const at = (ptr >>> 0) + i * POLLFD_SIZE;
    out.push({ fd: memory.i32At(at + POLLFD_FD), events: memory.u16(at + POLLFD_EVENTS) });
  }
  return out;
}

/** Stores the revents of every pollfd. */
export function writePollRevents(memory: GuestMemory, ptr: number, revents: readonly number[]): void {
  memory.check(ptr, revents.length * POLLFD_SIZE);
  for (let i = 0; i < revents.length; i++) memory.setU16((ptr >>> 0) + i * POLLFD_SIZE + POLLFD_REVENTS, revents[i]!);
}
