/**
 * The system call wrappers the kernel tests share (kernel-agnostic, like the harness), so that the
 * conformance suites and the kernel-specific tests start from one preamble: each wrapper posts one
 * call; those that return a number must answer at once, the async ones wait for the answer.
 */
import * as net from 'node:net';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_epoll_create1,
  SYS_getsockname,
  SYS_getsockopt,
  SYS_listen,
  SYS_pipe2,
  SYS_recvfrom,
  SYS_setsockopt,
  SYS_socket,
  SYS_write,
} from '../../host/abi/v1.js';
import { now, settled, within, type PendingCall, type TestProcess } from './kernel-harness.js';

/** A pipe's capacity: Linux's default (16 pages), which the virtual and os kernels' pipes copy. */
export { PIPE_CAPACITY } from '../../host/kernel/common/pipe.js';

/** `n` bytes of a recognisable pattern (a different one per seed). */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** pipe2: [read end, write end]. */
export function pipe<P>(p: TestProcess<P>, flags = 0): [number, number] {
  const fds = p.alloc(8);
  assert.is(now(p.sys(SYS_pipe2, fds, flags)), 0);
  return [p.i32(fds), p.i32(fds + 4)];
}

/** An AF_INET stream socket (its descriptor, or -errno). */
export function socket<P>(p: TestProcess<P>, flags = 0): number {
  return now(p.sys(SYS_socket, AF_INET, SOCK_STREAM | flags, 0));
}

/** A new epoll set. */
export function epoll<P>(p: TestProcess<P>): number {
  return now(p.sys(SYS_epoll_create1, 0));
}

/** getsockname (or getpeername, as `call`): the address, which must be there. */
export function sockname<P>(p: TestProcess<P>, fd: number, call = SYS_getsockname) {
  const addr = p.alloc(16);
  const len = p.int(16);
  assert.is(now(p.sys(call, fd, addr, len)), 0);
  return p.readSockaddr(addr);
}

/** A listening socket on 127.0.0.1 with an ephemeral port. */
export function listener<P>(p: TestProcess<P>, backlog = 16): { fd: number; port: number } {
  const fd = socket(p);
  assert.is(now(p.sys(SYS_bind, fd, p.sockaddr(0), 16)), 0);
  assert.is(now(p.sys(SYS_listen, fd, backlog)), 0);
  return { fd, port: sockname(p, fd).port };
}

/** accept4, waiting for a connection: the new descriptor or -errno. */
export function accept<P>(p: TestProcess<P>, fd: number, flags = 0): Promise<number> {
  return settled(p.sys(SYS_accept4, fd, 0, 0, flags));
}

/** write of `data` with the entry flags `flags` (EF_NOWAIT...): the answer, or the call when it waits. */
export function send<P>(p: TestProcess<P>, fd: number, data: string | Uint8Array, flags = 0): number | PendingCall {
  const [ptr, len] = p.data(data);
  return p.sysWith({ flags }, SYS_write, fd, ptr, len);
}

/** recvfrom of at most `max` bytes with MSG_* `flags`: the text received, or the answer when it is not positive. */
export async function recv<P>(p: TestProcess<P>, fd: number, max = 65536, flags = 0): Promise<string | number> {
  const buf = p.alloc(max);
  const n = await settled(p.sys(SYS_recvfrom, fd, buf, max, flags, 0, 0));
  return n <= 0 ? n : p.string(buf, n);
}

/** getsockopt of an int option: its value, or -errno. */
export function getsockopt<P>(p: TestProcess<P>, fd: number, level: number, name: number): number {
  const val = p.int(0);
  const len = p.int(4);
  const r = now(p.sys(SYS_getsockopt, fd, level, name, val, len));
  return r < 0 ? r : p.i32(val);
}

/** setsockopt of an int option. */
export function setsockopt<P>(p: TestProcess<P>, fd: number, level: number, name: number, v: number): number {
  return now(p.sys(SYS_setsockopt, fd, level, name, p.int(v), 4));
}

/** Everything a host socket receives, and how it ended. */
export function collect(s: net.Socket) {
  const chunks: Buffer[] = [];
  const out = {
    error: null as Error | null,
    ended: false,
    get text() {
      return Buffer.concat(chunks).toString();
    },
    get length() {
      return chunks.reduce((n, c) => n + c.length, 0);
    },
  };
  s.on('data', (c) => chunks.push(c));
  s.on('end', () => (out.ended = true));
  s.on('error', (e) => (out.error = e));
  return out;
}

/** A host client connected to 127.0.0.1:`port`, half-open capable; `track` destroys it after the test. */
export function hostClient(port: number, track: (s: net.Socket) => net.Socket): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const c = track(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }));
      c.once('connect', () => resolve(c));
      c.once('error', reject);
      // Tests reset connections on purpose: an unhandled 'error' must not end the run.
      c.on('error', () => {});
    }),
    5000,
    'connect',
  );
}
