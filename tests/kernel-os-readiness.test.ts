import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EINVAL,
  ENOSYS,
  EPOLLIN,
  EPOLL_CTL_ADD,
  SYS_epoll_ctl,
  SYS_getpid,
  SYS_getrandom,
  SYS_read,
  SYS_write,
} from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });

const test = fx.guard(uvuTest);

function setup(colocated = false) {
  const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated, log: () => {} });
  const h = fx.harness(k);
  return { h, p: h.spawn({ pid: 4242, stdin: 'in' }) };
}

const write = (p: P, fd: number, text: string | Uint8Array, flags = 0) => {
  const [ptr, len] = p.data(text);
  return p.sysWith({ flags }, SYS_write, fd, ptr, len);
};



test('getpid, getrandom, stdio, unknown calls', async () => {
  const { p } = setup();
  assert.is(now(p.sys(SYS_getpid)), 4242);
  const buf = p.alloc(64);
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0)), 64);
  const a = p.bytes(buf, 64);
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0)), 64);
  assert.not.equal(a, p.bytes(buf, 64), 'random');
  assert.is(now(p.sys(SYS_getrandom, buf, 64, 0x40)), -EINVAL);
  assert.is(now(p.sys(SYS_getrandom, 0x7fff_fff0, 64, 0)), -14);
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 2);
  assert.is(p.string(buf, 2), 'in');
  assert.is(now(p.sys(SYS_read, 0, buf, 64)), 0);
  assert.is(now(write(p, 1, 'to stdout')), 9);
  assert.is(p.text(1), 'to stdout');
  assert.is(now(p.sys(9999)), -ENOSYS);
  assert.is(now(p.sys(-1)), -ENOSYS);
  assert.is(now(p.sys(SYS_epoll_ctl, 0, EPOLL_CTL_ADD, 1, p.epollEvent(EPOLLIN))), -EINVAL, 'fd 0 is not an epoll set');
});


test.run();
