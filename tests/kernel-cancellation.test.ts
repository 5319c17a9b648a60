/**
 * Cancellation, on every kernel (paper section 4.2: it races completion as aio_cancel does): a
 * waiting call is cancelled and did not take effect; a completed one stays completed; a write that
 * moved bytes reports them; accept, connect, read, epoll_wait and poll can all be interrupted and
 * the descriptor stays usable. Each area's suite has its own cases too (sleeps in the time suite,
 * host-peer sockets in the sockets suite).
 */
import * as assert from 'uvu/assert';
import {
  AF_INET,
  EAGAIN,
  EBADF,
  ECANCELED,
  EF_NOWAIT,
  POLLIN,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_close,
  SYS_connect,
  SYS_epoll_create1,
  SYS_epoll_wait,
  SYS_getsockname,
  SYS_listen,
  SYS_poll,
  SYS_read,
  SYS_recvfrom,
  SYS_socket,
  SYS_write,
} from '../host/abi/v1.js';
import { virtualTimeOf } from '../host/kernel/capabilities.js';
import { accept, epoll, listener, pattern, pipe, PIPE_CAPACITY, recv, send, socket } from './helpers/kernel-calls.js';
import { conformance, type CaseScope } from './helpers/conformance.js';
import { now, parked, settled, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<unknown>;

/**
 * A connect that waits on a full backlog: Linux drops the SYN (the native kernel's sockets are
 * Linux's) and the virtual network queues it; the os kernel's listener (Node's, which accepts every
 * connection) resets what its backlog cannot hold, so there a connect never waits.
 */
const CONNECT_WAITS: CaseScope = { kernels: ['virtual', 'native'], why: 'the os kernel resets connections beyond its backlog' };

const connect = (p: P, fd: number, port: number) => p.sys(SYS_connect, fd, p.sockaddr(port), 16);

await conformance('cancellation', (test, subject) => {
  const setup = () => subject.setup();

  test('cancellation: a waiting read is cancelled; a completed one is not', async () => {
    const { p } = subject.setup();
    const [r, w] = pipe(p);
    const buf = p.alloc(8);
    const read = parked(p.sys(SYS_read, r, buf, 8));
    assert.is(read.cancel(), true);
    assert.is((await settled(read)), -ECANCELED);
    // The cancelled read took nothing: the next write goes to the next reader.
    const [ptr] = p.data('data');
    now(p.sys(SYS_write, w, ptr, 4));
    assert.is(now(p.sys(SYS_read, r, buf, 8)), 4);
    const done = parked(p.sys(SYS_read, r, buf, 8));
    now(p.sys(SYS_write, w, ptr, 2));
    assert.is((await settled(done)), 2);
    assert.is(done.cancel(), false, 'cancel after completion loses');
    assert.is((await settled(done)), 2);
    assert.is(done.completions, 1);
  });
  test('cancelling a write that already moved bytes reports the bytes', async () => {
    const { p } = subject.setup();
    const [r, w] = pipe(p);
    const [src, n] = p.data(pattern(PIPE_CAPACITY + 100));
    const write = parked(p.sys(SYS_write, w, src, n));
    assert.is(write.cancel(), false, 'not -ECANCELED: data went out');
    assert.is((await settled(write)), PIPE_CAPACITY);
    const fresh = parked(p.sys(SYS_write, w, src, 10));
    assert.is(fresh.cancel(), true);
    assert.is((await settled(fresh)), -ECANCELED);
    void r;
  });

  test('cancelling a waiting epoll_wait and poll; closing the epoll descriptor', async () => {
    const { h, p } = setup();
    const ep = epoll(p);
    const buf = p.alloc(24, 4);
    const wait = parked(p.sys(SYS_epoll_wait, ep, buf, 2, 100));
    assert.is(wait.cancel(), true);
    assert.is((await settled(wait)), -ECANCELED);
    if (subject.time === 'virtual') assert.is(virtualTimeOf(h.kernel)!.hasTimers(), false, 'its timer is gone');
    const pl = parked(p.sys(SYS_poll, p.pollfds([[pipe(p)[0], POLLIN]]), 1, -1));
    assert.is(pl.cancel(), true);
    assert.is((await settled(pl)), -ECANCELED);
    const onEp = parked(p.sys(SYS_epoll_wait, ep, buf, 2, -1));
    now(p.sys(SYS_close, ep));
    assert.is((await settled(onEp)), -EBADF);
  });

  test('cancellation: a waiting accept, a waiting connect, a waiting read', async () => {
    const { p: a, spawn } = subject.setup({ name: 'server' });
    const b = spawn({ name: 'client' });
    const { fd: lfd, port } = listener(a, 0);
    const acc = parked(a.sys(SYS_accept4, lfd, 0, 0, 0));
    assert.is(acc.cancel(), true);
    assert.is((await settled(acc)), -ECANCELED);
    const first = socket(b);
    assert.is(await settled(connect(b, first, port)), 0);
    const second = socket(b);
    const conn = parked(connect(b, second, port));
    assert.is(conn.cancel(), true);
    assert.is((await settled(conn)), -ECANCELED);
    await accept(a, lfd);
    assert.is(now(a.sysWith({ flags: EF_NOWAIT }, SYS_accept4, lfd, 0, 0, 0)), -EAGAIN, 'the cancelled connect left the queue');
    const retried = connect(b, second, port);
    const s = await accept(a, lfd);
    assert.is(await settled(retried), 0, 'and can be retried');
    const read = parked(a.sys(SYS_read, s, a.alloc(4), 4));
    assert.is(read.cancel(), true);
    await settled(send(b, second, 'late'));
    assert.is((await settled(read)), -ECANCELED);
    assert.is(await recv(a, s), 'late');
    assert.is(read.cancel(), false, 'cancelling twice');
  }, CONNECT_WAITS);
});
