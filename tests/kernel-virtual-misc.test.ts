import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET,
  AT_FDCWD,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  EAGAIN,
  EBADF,
  EFAULT,
  EINVAL,
  ENOSYS,
  EPOLLIN,
  EPOLL_CTL_ADD,
  ESRCH,
  FD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  GRND_NONBLOCK,
  GRND_RANDOM,
  O_CLOEXEC,
  O_CREAT,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  SOCK_STREAM,
  S_IFCHR,
  SYSCALLS,
  SYS_accept4,
  SYS_bind,
  SYS_clock_gettime,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_ctl,
  SYS_epoll_wait,
  SYS_fcntl,
  SYS_fstat,
  SYS_getdents64,
  SYS_getpid,
  SYS_getrandom,
  SYS_listen,
  SYS_mkdirat,
  SYS_nanosleep,
  SYS_openat,
  SYS_pipe2,
  SYS_poll,
  SYS_read,
  SYS_sendfile,
  SYS_socket,
  SYS_write,
  SYS_writev,
} from '../host/abi/v1.js';
import type { VirtualKernelOptions } from '../host/kernel/virtual/options.js';
import * as virtualModule from '../host/kernel/virtual/index.js';
import { VIRTUAL_SYSCALLS, VirtualKernel, type VirtualProcess } from '../host/kernel/virtual/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { KernelHarness, concat, now, parked, type SpawnOptions, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<VirtualProcess>;
const fx = new Fixtures<VirtualProcess>({ close: false });

function setup(spawn: SpawnOptions = {}, options: Partial<VirtualKernelOptions> = {}) {
  const kernel = new VirtualKernel({ kind: 'virtual', files: { '/f': 'file' }, ...options });
  const h = fx.harness(kernel);
  return { kernel, h, p: h.spawn(spawn) };
}

const test = fx.guard(uvuTest);

const open = (p: P, path: string, flags = O_RDONLY, thread?: number) =>
  now(p.sysWith(thread === undefined ? {} : { thread }, SYS_openat, AT_FDCWD, p.cstr(path), flags, 0o644));

test('the module is a KernelModule with home placement; every ABI call is implemented', () => {
  assert.is(virtualModule.placement, 'home');
  const k = virtualModule.createKernel({ kind: 'virtual' }, { thread: 0, threadCount: 1, log: () => {} });
  assert.is(k.name, 'virtual');
  assert.is(virtualModule.virtualKernelModule.placement, 'home');
  assert.equal([...VIRTUAL_SYSCALLS].sort((a, b) => a - b), SYSCALLS.map((s) => s.nr).sort((a, b) => a - b));
});

test('getpid answers the spec pid; unknown calls are ENOSYS', () => {
  const { h, p } = setup({ pid: 4242 });
  assert.is(now(p.sys(SYS_getpid)), 4242);
  assert.is(now(h.spawn({ pid: 7 }).sys(SYS_getpid)), 7);
  for (const nr of [2, 57, 999, 100_000, -1]) assert.is(now(p.sys(nr)), -ENOSYS, `syscall ${nr}`);
});

test('standard streams: stdin bytes then EOF; stdout and stderr go to the sink as copies', () => {
  const { h, p } = setup({ stdin: 'line one\nline two\n' });
  const buf = p.alloc(64);
  assert.is(now(p.sys(SYS_read, 0, buf, 9)), 9);
  assert.is(p.string(buf, 9), 'line one\n');
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 9);
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 0);
  const [msg, len] = p.data('to stdout');
  assert.is(now(p.sys(SYS_write, 1, msg, len)), 9);
  p.memory.fill(msg, len, 0x21);
  assert.is(p.text(1), 'to stdout', 'the sink got a copy');
  const iov = p.iovecs([p.data('err: '), p.data('oops\n')]);
  assert.is(now(p.sys(SYS_writev, 2, iov, 2)), 10);
  assert.is(p.text(2), 'err: oops\n');
  assert.equal(
    p.output.map((o) => o.fd),
    [1, 2],
    'one sink call per write',
  );
  assert.is(now(p.sys(SYS_write, 0, msg, 1)), -EBADF, 'stdin is read-only');
  assert.is(now(p.sys(SYS_read, 1, buf, 1)), -EBADF, 'stdout is write-only');
  const st = p.statBuf();
  for (const fd of [0, 1, 2]) {
    assert.is(now(p.sys(SYS_fstat, fd, st)), 0);
    assert.is(p.readStat(st).mode & 0o170000, S_IFCHR);
  }
  assert.is(now(p.sys(SYS_fcntl, 0, F_GETFL, 0)), O_RDONLY);
  assert.is(now(p.sys(SYS_fcntl, 1, F_GETFL, 0)), O_WRONLY);
  const pfd = p.pollfds([
    [0, POLLIN],
    [1, 4],
  ]);
  assert.is(now(p.sys(SYS_poll, pfd, 2, 0)), 2);
  const q = h.spawn({ stdin: null });
  assert.is(now(q.sys(SYS_read, 0, q.alloc(4), 4)), 0, 'no stdin: EOF at once');
});

for (const classes of [1, 2, 4]) {
  test(`descriptor classes: fdClasses ${classes}, lowest free number with fd % ${classes} === thread`, () => {
    const { h, p } = setup({ fdClasses: classes });
    const q = h.spawn({ fdClasses: classes });
    const expectFor = (thread: number, fd: number) => {
      assert.is(fd % classes, thread % classes, `fd ${fd} from thread ${thread}`);
      for (let lower = thread % classes; lower < fd; lower += classes) {
        const st = p.statBuf();
        assert.not.equal(now(p.sys(SYS_fstat, lower, st)), -EBADF, `fd ${lower} was free but ${fd} was chosen`);
      }
    };
    for (let round = 0; round < 3; round++) {
      for (let t = 0; t < classes; t++) expectFor(t, open(p, '/f', O_RDONLY, t));
    }
    // Every kind of new descriptor follows the rule.
    for (let t = 0; t < classes; t++) {
      const fds = p.alloc(8);
      assert.is(now(p.sysWith({ thread: t }, SYS_pipe2, fds, 0)), 0);
      expectFor(t, p.i32(fds));
      expectFor(t, p.i32(fds + 4));
      assert.ok(p.i32(fds + 4) > p.i32(fds));
      expectFor(t, now(p.sysWith({ thread: t }, SYS_socket, AF_INET, SOCK_STREAM, 0)));
      expectFor(t, now(p.sysWith({ thread: t }, SYS_epoll_create1, 0)));
    }
    // accept4's descriptor is in the class of the accepting call.
    const l = now(q.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    now(q.sys(SYS_bind, l, q.sockaddr(80), 16));
    now(q.sys(SYS_listen, l, 10));
    for (let t = 0; t < classes; t++) {
      const c = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
      assert.is(now(p.sys(SYS_connect, c, p.sockaddr(80), 16)), 0);
      const s = now(q.sysWith({ thread: t }, SYS_accept4, l, 0, 0, 0));
      assert.is(s % classes, t);
    }
    // A freed number is reused first, even the standard streams'.
    const victim = open(p, '/f', O_RDONLY, classes - 1);
    assert.is(now(p.sys(SYS_close, 0)), 0);
    assert.is(open(p, '/f', O_RDONLY, 0), 0, 'the lowest free number of class 0 is 0');
    assert.is(now(p.sys(SYS_close, victim)), 0);
    assert.is(open(p, '/f', O_RDONLY, classes - 1), victim);
    // A thread index beyond the classes wraps around.
    assert.is(open(p, '/f', O_RDONLY, classes + 1) % classes, 1 % classes);
  });
}

test('fdClasses 2: the exact numbers', () => {
  const { p } = setup({ fdClasses: 2 });
  assert.equal([open(p, '/f', 0, 1), open(p, '/f', 0, 1), open(p, '/f', 0, 0), open(p, '/f', 0, 0)], [3, 5, 4, 6]);
  now(p.sys(SYS_close, 3));
  assert.is(open(p, '/f', 0, 0), 8, 'class 0 never takes an odd number');
  assert.is(open(p, '/f', 0, 1), 3);
});

test('getrandom: a deterministic stream per seed', () => {
  const draw = (seed: number, n: number) => {
    const { p } = setup({}, { seed });
    const buf = p.alloc(n);
    assert.is(now(p.sys(SYS_getrandom, buf, n, 0)), n);
    return p.bytes(buf, n);
  };
  assert.equal(draw(1, 64), draw(1, 64), 'same seed, same bytes');
  assert.not.equal(draw(1, 64), draw(2, 64), 'another seed, other bytes');
  const a = draw(3, 37);
  assert.ok(a.some((b) => b !== 0));
  // One stream of 32-bit words per kernel, whoever reads it.
  const { h, p } = setup({}, { seed: 3 });
  const q = h.spawn();
  const b1 = p.alloc(20);
  const b2 = q.alloc(17);
  assert.is(now(p.sys(SYS_getrandom, b1, 20, GRND_NONBLOCK)), 20);
  assert.is(now(q.sys(SYS_getrandom, b2, 17, GRND_RANDOM)), 17);
  assert.equal(concat([p.bytes(b1, 20), q.bytes(b2, 17)]), a);
  assert.is(now(p.sys(SYS_getrandom, b1, 0, 0)), 0);
  assert.is(now(p.sys(SYS_getrandom, b1, 4, 0x8)), -EINVAL);
  assert.is(now(p.sys(SYS_getrandom, b1, 4, GRND_RANDOM | 0x4)), -EINVAL);
  assert.is(now(p.sys(SYS_getrandom, 0x7fff_fff0, 64, 0)), -EFAULT);
});

test('detach closes descriptors, drops waiting calls silently, and ends the process', () => {
  const { h, kernel, p } = setup();
  const q = h.spawn();
  const fds = q.alloc(8);
  // q holds both ends of a pipe; p is waiting on nothing of q's, so use a shared file and a socket.
  now(q.sys(SYS_pipe2, fds, 0));
  const ownRead = parked(q.sys(SYS_read, q.i32(fds), q.alloc(4), 4));
  const ownSleep = parked(q.sys(SYS_nanosleep, q.timespec(5, 0), 0));
  const l = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  now(p.sys(SYS_bind, l, p.sockaddr(90), 16));
  now(p.sys(SYS_listen, l, 1));
  const c = now(q.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  now(q.sys(SYS_connect, c, q.sockaddr(90), 16));
  const s = now(p.sys(SYS_accept4, l, 0, 0, 0));
  const peerRead = parked(p.sys(SYS_read, s, p.alloc(4), 4));
  assert.is(kernel.virtualTime.hasTimers(), true);
  h.detach(q);
  assert.is(peerRead.result, 0, 'the peer reads end of file');
  assert.equal([ownRead.done, ownSleep.done], [false, false], 'dropped, not completed');
  assert.equal([ownRead.cancellable, ownSleep.cancellable], [false, false]);
  assert.is(kernel.virtualTime.hasTimers(), false, 'its timers are gone');
  assert.is(now(q.sys(SYS_getpid)), -ESRCH);
  h.detach(q);
  // close() releases everyone.
  const ep = now(p.sys(SYS_epoll_create1, 0));
  const waiting = parked(p.sys(SYS_epoll_wait, ep, p.alloc(12), 1, -1));
  kernel.close();
  assert.is(waiting.done, false);
  assert.is(now(p.sys(SYS_getpid)), -ESRCH);
});

/**
 * A scenario touching every part of the kernel, across two guests, recorded as a transcript of
 * results and bytes. Run twice on fresh kernels, the transcripts must match byte for byte.
 */
function scenario(): Uint8Array {
  const kernel = new VirtualKernel({ kind: 'virtual', seed: 99, epochMs: 1_234_567_890_123, files: { '/etc/motd': 'welcome' } });
  const h = new KernelHarness(kernel);
  const a = h.spawn({ stdin: 'input', fdClasses: 2 });
  const b = h.spawn({ fdClasses: 2 });
  const log: Uint8Array[] = [];
  const rec = (r: number | { result?: number | undefined } | undefined) => {
    const v = typeof r === 'number' ? r : (r?.result ?? -9999);
    log.push(new TextEncoder().encode(`${v};`));
  };
  const mem = (p: P, ptr: number, n: number) => log.push(p.bytes(ptr, n));

  const ts = a.alloc(16);
  rec(now(a.sys(SYS_clock_gettime, CLOCK_REALTIME, ts)));
  mem(a, ts, 16);
  const rnd = a.alloc(32);
  rec(now(a.sys(SYS_getrandom, rnd, 32, 0)));
  mem(a, rnd, 32);
  const d = now(a.sysWith({ thread: 1 }, SYS_mkdirat, AT_FDCWD, a.cstr('/data'), 0o755));
  rec(d);
  const f = now(a.sysWith({ thread: 1 }, SYS_openat, AT_FDCWD, a.cstr('/data/x'), O_CREAT | O_RDWR, 0o600));
  rec(f);
  rec(now(a.sys(SYS_write, f, ...a.data('persisted'))));
  const st = a.statBuf();
  rec(now(a.sys(SYS_fstat, f, st)));
  mem(a, st, 144);
  const l = now(a.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  rec(l);
  rec(now(a.sys(SYS_bind, l, a.sockaddr(0), 16)));
  rec(now(a.sys(SYS_listen, l, 2)));
  const name = a.alloc(16);
  rec(now(a.sys(51, l, name, a.int(16))));
  mem(a, name, 16);
  const port = a.memory.u16be(name + 2);
  const sleep = parked(b.sys(SYS_nanosleep, b.timespec(0, 3_000_000), 0));
  const acc = parked(a.sysWith({ thread: 1 }, SYS_accept4, l, 0, 0, 0));
  rec(h.idle() ? 1 : 0);
  rec(sleep);
  const c = now(b.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
  rec(now(b.sys(SYS_connect, c, b.sockaddr(port), 16)));
  rec(acc);
  const s = acc.result!;
  rec(now(a.sys(SYS_sendfile, s, now(a.sys(SYS_openat, AT_FDCWD, a.cstr('/etc/motd'), O_RDONLY, 0)), 0, 100)));
  const rb = b.alloc(64);
  rec(now(b.sys(SYS_read, c, rb, 64)));
  mem(b, rb, 64);
  const ep = now(b.sys(SYS_epoll_create1, 0));
  rec(now(b.sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, c, b.epollEvent(EPOLLIN, 1, 2))));
  const evs = b.alloc(24);
  const ew = parked(b.sys(SYS_epoll_wait, ep, evs, 2, 50));
  rec(now(a.sys(SYS_write, s, ...a.data('pong'))));
  rec(ew);
  mem(b, evs, 24);
  rec(now(b.sys(SYS_poll, b.pollfds([[ep, POLLIN]]), 1, 0)));
  rec(now(a.sys(SYS_read, 0, rnd, 32)));
  mem(a, rnd, 32);
  rec(now(a.sys(SYS_clock_gettime, CLOCK_MONOTONIC, ts)));
  mem(a, ts, 16);
  const dents = a.alloc(256);
  const dfd = now(a.sys(SYS_openat, AT_FDCWD, a.cstr('/'), O_RDONLY, 0));
  const n = now(a.sys(SYS_getdents64, dfd, dents, 256));
  rec(n);
  mem(a, dents, n);
  h.detach(a);
  rec(now(b.sys(SYS_read, c, rb, 64)));
  log.push(concat(a.output.map((o) => o.bytes)));
  return concat(log);
}

test('determinism: the same scenario twice gives the same transcript, byte for byte', () => {
  const first = scenario();
  const second = scenario();
  assert.ok(first.length > 300);
  assert.equal(Buffer.compare(Buffer.from(first), Buffer.from(second)), 0);
});


test.run();
