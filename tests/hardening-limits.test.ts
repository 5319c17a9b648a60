// Limits the host sets rather than trusting the guest (issue 8): outgoing connections are granted by
// an allow-list on every kernel (loopback only by default; EACCES past it), and a guest's memory is
// capped by the host whatever maximum its module declares.
import { createServer, type AddressInfo } from 'node:net';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET, EACCES, SOCK_STREAM, SYS_connect, SYS_socket } from '../host/abi/v1.js';
import { parseRunOptions, UsageError } from '../host/cli/options.js';
import { ConnectPolicy, parseConnectRule } from '../host/kernel/common/connect-policy.js';
import type { Kernel, KernelOptions } from '../host/kernel/kernel.js';
import { OsKernel } from '../host/kernel/os/index.js';
import { VirtualKernel } from '../host/kernel/virtual/index.js';
import { VM } from '../host/vm/vm.js';
import { InvalidModuleError } from '../host/index.js';
import { guestPath } from './helpers/e2e.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { now, settled } from './helpers/kernel-harness.js';
import { nativeTest } from './helpers/native.js';

const fx = new Fixtures<unknown>({ close: true });
// Each test cleans up and checks for Kernel contract breaches in its own body (Fixtures.guard).
const test = fx.guard(uvuTest);

const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

test('connect rules: ADDR[/PREFIX][:PORT]; loopback only by default; none allows nothing', () => {
  const def = ConnectPolicy.from(undefined);
  assert.ok(def.allows(ip('127.0.0.1'), 80));
  assert.ok(def.allows(ip('127.255.1.2'), 1));
  assert.not.ok(def.allows(ip('10.0.0.1'), 80));
  assert.ok(def.allows(ip('0.0.0.0'), 80), '0.0.0.0 is this host');
  assert.not.ok(def.allows(ip('0.0.0.1'), 80));
  const p = ConnectPolicy.from(['10.0.0.0/8:5432', '192.168.1.7']);
  assert.ok(p.allows(ip('10.20.30.40'), 5432));
  assert.not.ok(p.allows(ip('10.20.30.40'), 5433), 'another port');
  assert.ok(p.allows(ip('192.168.1.7'), 1234));
  assert.not.ok(p.allows(ip('192.168.1.8'), 1234));
  assert.not.ok(p.allows(ip('127.0.0.1'), 80), 'rules given replace the loopback default');
  assert.ok(ConnectPolicy.from(['0.0.0.0/0']).allows(ip('8.8.8.8'), 53));
  assert.not.ok(ConnectPolicy.from(['none']).allows(ip('127.0.0.1'), 80));
  for (const bad of ['10.0.0.300', '10.0.0.0/33', '1.2.3.4:0', '1.2.3.4:70000', 'example.com', '::1', '']) {
    assert.throws(() => parseConnectRule(bad), /ADDR|address|prefix|port/, bad);
  }
});

const kernels: [string, (o: Omit<KernelOptions, 'kind'>) => Kernel<unknown>][] = [
  ['virtual', (o) => new VirtualKernel({ kind: 'virtual', ...o }) as Kernel<unknown>],
  ['os', (o) => new OsKernel({ kind: 'os', ...o }, { thread: 0, threadCount: 1, log: () => {} }) as Kernel<unknown>],
];
for (const [name, make] of kernels) {
  test(`${name} kernel: connect() past the allow-list is EACCES, before any packet leaves`, async () => {
    const p = fx.harness(make({})).spawn();
    const s = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    assert.is(await settled(p.sys(SYS_connect, s, p.sockaddr(80, '10.1.2.3'), 16)), -EACCES);
    assert.is(await settled(p.sys(SYS_connect, s, p.sockaddr(53, '8.8.8.8'), 16)), -EACCES);
    const q = fx.harness(make({ allowConnect: ['none'] })).spawn();
    const t = now(q.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    assert.is(await settled(q.sys(SYS_connect, t, q.sockaddr(9, '127.0.0.1'), 16)), -EACCES, 'none: not even loopback');
    const r = fx.harness(make({ allowConnect: ['127.0.0.1:9'] })).spawn();
    const u = now(r.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    assert.is.not(await settled(r.sys(SYS_connect, u, r.sockaddr(9, '127.0.0.1'), 16)), -EACCES, 'an allowed address gets a real answer');
  });
}

test('CLI: --allow-connect (repeatable, checked) and --max-memory', () => {
  const o = parseRunOptions(['--allow-connect', '10.0.0.0/8:5432', '--allow-connect', '192.168.0.1', '--max-memory', '256M', 'g.wasm'], true);
  assert.equal(o.allowConnect, ['10.0.0.0/8:5432', '192.168.0.1']);
  assert.is(o.limits.maxMemory, 256 * 1024 * 1024);
  assert.equal(parseRunOptions(['g.wasm'], true).allowConnect, []);
  assert.is(parseRunOptions(['--max-memory', '100000', 'g.wasm'], true).limits.maxMemory, 65536, 'whole pages');
  assert.throws(() => parseRunOptions(['--allow-connect', 'nowhere', 'g.wasm'], true), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseRunOptions(['--allow-connect', 'none', '--allow-connect', '1.2.3.4', 'g.wasm'], true), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseRunOptions(['--max-memory', '5G', 'g.wasm'], true), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseRunOptions(['--max-memory', '1K', 'g.wasm'], true), (e: unknown) => e instanceof UsageError);
  assert.equal(parseRunOptions(['--kernel', 'native', '--allow-connect', '10.0.0.1', 'g.wasm'], true).allowConnect, ['10.0.0.1']);
});

// The native kernel's C++ connect() consults the same list, driven here by a real guest (the echo
// client, which connects to 127.0.0.1): EACCES past the list, the kernel's own answer within it.
const nTest = nativeTest();
for (const [rules, expected] of [
  [undefined, 'ECONNREFUSED'], // loopback by default: the port is closed, so the kernel refuses
  [['10.0.0.1'], 'EACCES'],
  [['127.0.0.1:1'], 'EACCES'], // loopback, but another port
  [['none'], 'EACCES'],
] as const) {
  nTest(`native kernel: connect() to a closed loopback port with allowConnect ${JSON.stringify(rules)} is ${expected}`, async () => {
    const vm = await VM.create({ kernel: { kind: 'native', ...(rules ? { allowConnect: [...rules] } : {}) } });
    try {
      let err = '';
      const port = await closedPort();
      const r = await vm.run(guestPath('examples/echo/client'), {
        args: ['--port', String(port), '--conns', '1', '--retries', '0'],
        stdout: () => {},
        stderr: (d) => void (err += Buffer.from(d).toString()),
      });
      assert.is(r.status, 1, err);
      assert.match(err, `connect: ${expected}`);
    } finally {
      await vm.close();
    }
  });
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('the host caps guest memory: a module needing more than --max-memory at start is refused; the cap is its maximum', async () => {
  const vm = await VM.create({ kernel: 'virtual', limits: { maxMemory: 65536 } });
  try {
    let refused: unknown = null;
    await vm.spawn(guestPath('tests/guests/hello')).catch((e: unknown) => (refused = e));
    assert.instance(refused, InvalidModuleError);
    assert.match(String(refused), /more than the limit of 64 KiB/);
  } finally {
    await vm.close();
  }
});

test.run();
