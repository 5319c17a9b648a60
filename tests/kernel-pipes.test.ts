/**
 * Pipes, on every kernel: pipe2, data in order, end of file, EPIPE, waiting readers and writers,
 * non-blocking mode and PIPE_BUF atomicity, vectored I/O, cancellation, and close completing the
 * calls parked on a descriptor. Written once (tests/helpers/conformance.ts runs it per kernel).
 */
import * as assert from 'uvu/assert';
import {
  EAGAIN,
  EBADF,
  EF_NOWAIT,
  EFAULT,
  EINVAL,
  EMFILE,
  EPIPE,
  ESPIPE,
  F_GETFD,
  F_GETFL,
  F_SETFL,
  FD_CLOEXEC,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  S_IFIFO,
  SYS_close,
  SYS_fcntl,
  SYS_fstat,
  SYS_pipe2,
  SYS_pread64,
  SYS_read,
  SYS_readv,
  SYS_write,
  SYS_writev,
} from '../host/abi/v1.js';
import { pipe } from './helpers/kernel-calls.js';
import { conformance } from './helpers/conformance.js';
import { now, parked, settled, type SpawnOptions } from './helpers/kernel-harness.js';

/** A pipe's capacity: Linux's default (16 pages), which the virtual and os kernels' pipes copy. */
const PIPE_CAPACITY = 64 * 1024;

function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

await conformance('pipes', (test, subject) => {
  const setup = (spawn: SpawnOptions = {}) => subject.setup(spawn);

  test('pipe2 returns two descriptors; bytes flow in order', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    assert.equal([r, w], [3, 4]);
    const [ptr, len] = p.data('through the pipe');
    assert.is(now(p.sys(SYS_write, w, ptr, len)), 16);
    const buf = p.alloc(64);
    assert.is(now(p.sys(SYS_read, r, buf, 7)), 7);
    assert.is(p.string(buf, 7), 'through');
    assert.is(now(p.sys(SYS_read, r, buf, 64)), 9, 'a read returns what is there');
    assert.is(p.string(buf, 9), ' the pipe');
    const st = p.statBuf();
    assert.is(now(p.sys(SYS_fstat, r, st)), 0);
    assert.is(p.readStat(st).mode, S_IFIFO | 0o600);
    const st2 = p.statBuf();
    now(p.sys(SYS_fstat, w, st2));
    assert.is(p.readStat(st2).ino, p.readStat(st).ino, 'both ends are one pipe inode');
    assert.is(now(p.sys(SYS_fcntl, r, F_GETFL, 0)), O_RDONLY);
    assert.is(now(p.sys(SYS_fcntl, w, F_GETFL, 0)), O_WRONLY);
  });

  test('pipe2 flags, EFAULT and EMFILE leak nothing', async () => {
    const { p } = setup({ limits: { maxFds: 6 } });
    assert.is(now(p.sys(SYS_pipe2, p.alloc(8), 0x40)), -EINVAL);
    assert.is(now(p.sys(SYS_pipe2, 0x7fff_fffc, 0)), -EFAULT);
    const [r, w] = pipe(p, O_NONBLOCK | O_CLOEXEC);
    assert.equal([r, w], [3, 4], 'the failed calls took no descriptor');
    assert.is(now(p.sys(SYS_fcntl, r, F_GETFL, 0)), O_RDONLY | O_NONBLOCK);
    assert.is(now(p.sys(SYS_fcntl, w, F_GETFD, 0)), FD_CLOEXEC);
    const fds = p.alloc(8);
    assert.is(now(p.sys(SYS_pipe2, fds, 0)), -EMFILE, 'room for one descriptor, not two');
    now(p.sys(SYS_close, w));
    now(p.sys(SYS_close, r));
    assert.equal(pipe(p), [3, 4]);
  });

  test('wrong end, pread and lseek', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const buf = p.alloc(8);
    assert.is(now(p.sys(SYS_write, r, buf, 1)), -EBADF);
    assert.is(now(p.sys(SYS_read, w, buf, 1)), -EBADF);
    assert.is(now(p.sys(SYS_pread64, r, buf, 1, 0, 0)), -ESPIPE);
    assert.is(now(p.sys(SYS_write, w, buf, 0)), 0, 'an empty write');
    assert.is(now(p.sys(SYS_read, r, buf, 0)), 0, 'an empty read does not wait');
  });

  test('a read waits while the pipe is empty and takes what the next write brings', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const buf = p.alloc(100);
    const read = parked(p.sys(SYS_read, r, buf, 100));
    assert.is(read.done, false);
    assert.ok(read.cancellable);
    const [ptr, len] = p.data('ten bytes!');
    assert.is(now(p.sys(SYS_write, w, ptr, len)), 10);
    assert.is((await settled(read)), 10, 'partial data completes the read');
    assert.is(p.string(buf, 10), 'ten bytes!');
  });

  test('two waiting readers are served in order', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const b1 = p.alloc(4);
    const b2 = p.alloc(4);
    const first = parked(p.sys(SYS_read, r, b1, 4));
    const second = parked(p.sys(SYS_read, r, b2, 4));
    const [ptr] = p.data('abcd');
    now(p.sys(SYS_write, w, ptr, 4));
    assert.is((await settled(first)), 4);
    assert.is(second.done, false);
    now(p.sys(SYS_write, w, ptr, 2));
    assert.is((await settled(second)), 2);
    assert.is(p.string(b1, 4) + p.string(b2, 2), 'abcdab');
  });

  test('end of file when the last writer closes, also for a waiting reader', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const buf = p.alloc(16);
    const [ptr] = p.data('tail');
    now(p.sys(SYS_write, w, ptr, 4));
    assert.is(now(p.sys(SYS_close, w)), 0);
    assert.is(now(p.sys(SYS_read, r, buf, 16)), 4, 'buffered data first');
    assert.is(now(p.sys(SYS_read, r, buf, 16)), 0, 'then end of file');
    const [r2, w2] = pipe(p);
    const waiting = parked(p.sys(SYS_read, r2, buf, 16));
    assert.is(now(p.sys(SYS_close, w2)), 0);
    assert.is((await settled(waiting)), 0);
  });

  test('EPIPE without a reader, also for a waiting writer', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const big = p.data(pattern(PIPE_CAPACITY + 10));
    const write = parked(p.sys(SYS_write, w, big[0], big[1]));
    now(p.sys(SYS_close, r));
    assert.is((await settled(write)), PIPE_CAPACITY, 'a write that moved bytes reports them');
    const [ptr] = p.data('x');
    assert.is(now(p.sys(SYS_write, w, ptr, 1)), -EPIPE);
    const [r2, w2] = pipe(p);
    const fill = p.data(pattern(PIPE_CAPACITY));
    assert.is(now(p.sys(SYS_write, w2, fill[0], fill[1])), PIPE_CAPACITY);
    const blocked = parked(p.sys(SYS_write, w2, ptr, 1));
    now(p.sys(SYS_close, r2));
    assert.is((await settled(blocked)), -EPIPE);
  });

  test('a blocking write larger than the pipe completes when a reader drains it', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const data = pattern(150_000, 3);
    const [src, n] = p.data(data);
    const write = parked(p.sys(SYS_write, w, src, n));
    const out = p.alloc(n);
    let got = 0;
    while (got < n) {
      const k = now(p.sys(SYS_read, r, out + got, 50_000));
      assert.ok(k > 0);
      got += k;
    }
    assert.is((await settled(write)), n, 'completes only when every byte is in');
    assert.equal(p.bytes(out, n), data);
  });

  test('a blocking writev larger than the pipe moves every byte, in order, across its vectors', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    // Three vectors whose boundaries fall before, at and after the pipe's capacity.
    const parts = [pattern(40_000, 1), pattern(30_000, 2), pattern(80_000, 4)];
    const iov = p.iovecs(parts.map((b) => p.data(b)));
    const n = parts.reduce((k, b) => k + b.length, 0);
    const writev = parked(p.sys(SYS_writev, w, iov, parts.length));
    const out = p.alloc(n);
    let got = 0;
    while (got < n) {
      const k = now(p.sys(SYS_read, r, out + got, 50_000));
      assert.ok(k > 0);
      got += k;
    }
    assert.is(await settled(writev), n, 'completes only when every byte is in');
    const expected = new Uint8Array(n);
    let at = 0;
    for (const b of parts) expected.set(b, (at += b.length) - b.length);
    assert.equal(p.bytes(out, n), expected);
  });

  test('wakeups settle within one call: a drained write answers at once', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const out = p.alloc(200_000);
    const read = parked(p.sys(SYS_read, r, out, 200_000));
    const data = pattern(100_000, 9);
    const [src, n] = p.data(data);
    // 64 KiB go in, the waiting reader takes them, room reopens and the rest goes in: no waiting.
    // (The native kernel's reader waits on the host's readiness loop, which runs after the write
    // parked: the write completes in full when it has.)
    const write = p.sys(SYS_write, w, src, n);
    assert.is(subject.name === 'native' ? await settled(write) : now(write), n);
    assert.is((await settled(read)), PIPE_CAPACITY);
    assert.is(now(p.sys(SYS_read, r, out + PIPE_CAPACITY, 200_000)), n - PIPE_CAPACITY);
    assert.equal(p.bytes(out, n), data);
  });

  test('non-blocking: partial writes, EAGAIN, PIPE_BUF atomicity', async () => {
    const { p } = setup();
    const [r, w] = pipe(p, O_NONBLOCK);
    const big = p.data(pattern(70_000));
    assert.is(now(p.sys(SYS_write, w, big[0], big[1])), PIPE_CAPACITY, 'what fits');
    assert.is(now(p.sys(SYS_write, w, big[0], 1)), -EAGAIN, 'full');
    const buf = p.alloc(PIPE_CAPACITY);
    assert.is(now(p.sys(SYS_read, r, buf, 100)), 100);
    assert.is(now(p.sys(SYS_write, w, big[0], 200)), -EAGAIN, 'a small write is all or nothing');
    // A large one may be split. Linux (the native kernel's real pipes) counts a pipe's room in whole
    // pages: the 100 bytes read free no page, so it finds no room at all; the virtual and os
    // kernels' pipes count bytes.
    const room = subject.name === 'native' ? 0 : 100;
    assert.is(now(p.sys(SYS_write, w, big[0], 5000)), room || -EAGAIN, 'a large one may be split');
    assert.is(now(p.sys(SYS_read, r, buf, PIPE_CAPACITY)), PIPE_CAPACITY - 100 + room);
    assert.is(now(p.sys(SYS_read, r, buf, 10)), -EAGAIN, 'empty with a writer');
    // F_SETFL turns the mode off again; EF_NOWAIT makes one call non-blocking.
    assert.is(now(p.sys(SYS_fcntl, r, F_SETFL, 0)), 0);
    assert.is(now(p.sysWith({ flags: EF_NOWAIT }, SYS_read, r, buf, 10)), -EAGAIN);
    const waiting = parked(p.sys(SYS_read, r, buf, 10));
    now(p.sys(SYS_write, w, big[0], 3));
    assert.is((await settled(waiting)), 3);
  });

  test('readv and writev on a pipe', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const iov = p.iovecs([p.data('hello '), p.data('vector')]);
    assert.is(now(p.sys(SYS_writev, w, iov, 2)), 12);
    const a = p.alloc(5);
    const b = p.alloc(20);
    const riov = p.iovecs([
      [a, 5],
      [b, 20],
    ]);
    assert.is(now(p.sys(SYS_readv, r, riov, 2)), 12);
    assert.is(p.string(a, 5) + p.string(b, 7), 'hello vector');
    const waiting = parked(p.sys(SYS_readv, r, riov, 2));
    now(p.sys(SYS_writev, w, iov, 1));
    assert.is((await settled(waiting)), 6);
  });

  test('closing a descriptor completes its waiting calls with EBADF', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const buf = p.alloc(8);
    const read = parked(p.sys(SYS_read, r, buf, 8));
    const other = parked(p.sys(SYS_read, pipe(p)[0], buf, 8));
    assert.is(now(p.sys(SYS_close, r)), 0);
    assert.is((await settled(read)), -EBADF);
    assert.is(other.done, false, 'only calls on that descriptor');
    const [ptr] = p.data('x');
    assert.is(now(p.sys(SYS_write, w, ptr, 1)), -EPIPE);
    assert.is(read.cancel(), false);
  });

  test('the reader closing discards buffered data', async () => {
    const { p } = setup();
    const [r, w] = pipe(p);
    const [src, n] = p.data(pattern(PIPE_CAPACITY));
    assert.is(now(p.sys(SYS_write, w, src, n)), n);
    now(p.sys(SYS_close, r));
    assert.is(now(p.sys(SYS_write, w, src, 1)), -EPIPE);
  });

  test('pipes: data, EOF, EPIPE, O_NONBLOCK, capacity', async () => {
    const { p } = subject.setup({ pid: 4242, stdin: 'in' });
    const write = (fd: number, text: string | Uint8Array, flags = 0) => {
      const [ptr, len] = p.data(text);
      return p.sysWith({ flags }, SYS_write, fd, ptr, len);
    };
    const [r, w] = pipe(p);
    const buf = p.alloc(PIPE_CAPACITY * 2);
    const pending = parked(p.sys(SYS_read, r, buf, 16));
    assert.is(now(write(w, 'through')), 7);
    assert.is(await settled(pending), 7);
    assert.is(p.string(buf, 7), 'through');
    assert.is(now(write(w, new Uint8Array(PIPE_CAPACITY), EF_NOWAIT)), PIPE_CAPACITY);
    assert.is(now(write(w, 'x', EF_NOWAIT)), -EAGAIN, 'full');
    const blocked = parked(write(w, 'tail'));
    assert.is(now(p.sys(SYS_read, r, buf, PIPE_CAPACITY)), PIPE_CAPACITY);
    assert.is(await settled(blocked), 4, 'the writer went on once there was room');
    assert.is(now(p.sys(SYS_close, w)), 0);
    assert.is(now(p.sys(SYS_read, r, buf, 16)), 4);
    assert.is(now(p.sys(SYS_read, r, buf, 16)), 0, 'EOF without writers');
    const [r2, w2] = pipe(p, O_NONBLOCK);
    assert.is(now(p.sys(SYS_read, r2, buf, 16)), -EAGAIN);
    assert.is(now(p.sys(SYS_close, r2)), 0);
    assert.is(now(write(w2, 'x')), -EPIPE);
    assert.is(now(p.sys(SYS_pipe2, p.alloc(8), 0x4)), -EINVAL);
  });
});
