// The guest's ready signal (libflexsc's `ready()`, the `flexvm.ready` import): an embedder learns a
// server's address from `guest.ready` instead of parsing its standard error, on every kernel and in
// every mode; a guest that ends first rejects it, and an embedder that never looks is not hurt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { VM, type Mode } from '../host/index.js';
import { nativeTest } from './helpers/native.js';

const MODES: readonly Mode[] = ['exceptionless', 'sync', 'epoll'];
const ECHO = 'examples/echo/server.wasm';

/** One line through a real echo server at `address`. */
function echoOnce(address: string): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), host!, () => s.end('ping\n'));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('echo timed out')));
  });
}

for (const kernel of ['virtual', 'os', 'native'] as const) {
  const t = kernel === 'native' ? nativeTest() : test;
  for (const mode of MODES) {
    t(`${kernel}, ${mode}: guest.ready gives the address the echo server listens on`, async () => {
      const vm = await VM.create({ kernel, mode });
      try {
        const guest = await vm.spawn(ECHO, { args: ['--port', '0', '--accepts', '1'], stderr: () => {} });
        const address = await Promise.race([guest.ready, guest.exited.then((r) => Promise.reject(new Error(`exited first: ${r.status} ${r.message ?? ''}`)))]);
        assert.match(address, /^127\.0\.0\.1:\d+$/);
        const port = Number(address.split(':')[1]);
        assert.ok(port > 0 && port < 65536, `a real port (${address})`);
        // On a real kernel the address is reachable; the virtual kernel's network is its own.
        if (kernel !== 'virtual') assert.is(await echoOnce(address), 'ping\n');
        guest.kill(500);
        await guest.exited;
        assert.is(await guest.ready, address, 'it stays resolved');
      } finally {
        await vm.close();
      }
    });
  }
}

test('a guest that ends without saying it is ready rejects guest.ready, with its status', async () => {
  const vm = await VM.create({ kernel: 'virtual' });
  try {
    const guest = await vm.spawn('tests/guests/exit.wasm', { stdout: () => {}, stderr: () => {} });
    const result = await guest.exited;
    const err = await guest.ready.then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err, 'ready rejected');
    assert.match(err!.message, /before it said it was ready/);
    assert.match(err!.message, new RegExp(`status ${result.status}`));
  } finally {
    await vm.close();
  }
});

test('an embedder that never looks at guest.ready gets no unhandled rejection', async () => {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  const vm = await VM.create({ kernel: 'virtual' });
  try {
    const guest = await vm.spawn('tests/guests/exit.wasm', { stdout: () => {}, stderr: () => {} });
    await guest.exited;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen, []);
  } finally {
    process.off('unhandledRejection', onRejection);
    await vm.close();
  }
});

test.run();
