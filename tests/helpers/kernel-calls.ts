/**
 * Small system call wrappers the kernel unit tests of both kernels use (kernel-agnostic, like the
 * harness): each posts one call that must answer at once.
 */
import * as assert from 'uvu/assert';
import { AF_INET, SOCK_STREAM, SYS_getsockopt, SYS_pipe2, SYS_setsockopt, SYS_socket } from '../../host/abi/v1.js';
import { now, type TestProcess } from './kernel-harness.js';

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
