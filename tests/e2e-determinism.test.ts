// End to end: the virtual kernel is deterministic. The same guest with the same inputs, each time in
// a fresh VM, prints byte-identical output: directory listings with inode numbers, file status,
// virtual clock readings around sleeps, getrandom bytes, descriptors, an ephemeral port. In every
// mode and syscall-thread count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM } from '../host/vm/vm.js';
import { CONFIGS, assertReport, label, run, type Outcome } from './helpers/e2e.js';

async function fresh(mode: (typeof CONFIGS)[number]['mode'], threads: number): Promise<Outcome> {
  const vm = await VM.create({ syscallThreads: threads });
  try {
    return await run(vm, 'tests/guests/determinism', { mode });
  } finally {
    await vm.close();
  }
}

for (const { mode, threads } of CONFIGS) {
  test(label('the same run twice prints the same bytes', mode, threads), async () => {
    const first = await fresh(mode, threads);
    const second = await fresh(mode, threads);
    assertReport(first, label('determinism', mode, threads), ['mkdirat', 'write', 'fstat', 'getdents64', 'bind', 'listen', 'connect', 'steps-left']);
    assert.fixture(second.stdout, first.stdout);
    // The output says something: a listing with inode numbers, clocks that moved, random bytes.
    assert.match(first.stdout, /^dirent x\.txt ino=\d+ off=\d+ type=8 reclen=32$/m);
    assert.match(first.stdout, /^random 32 [0-9a-f]{64}$/m);
    const mono = [...first.stdout.matchAll(/^clock monotonic(?:-after-sleep)? (\d+)\.(\d+)$/gm)].map((m) => Number(m[1]) * 1e9 + Number(m[2]));
    assert.is(mono.length, 2);
    assert.ok(mono[1]! - mono[0]! >= 7_000_000, `the 7 ms sleep moved the virtual clock (${mono[1]! - mono[0]!} ns)`);
  });
}

test('the random stream and the directory listing do not depend on the mode', async () => {
  const outputs = await Promise.all((['exceptionless', 'sync', 'epoll'] as const).map((mode) => fresh(mode, 1)));
  const pick = (o: Outcome, re: RegExp): string[] => o.stdout.split('\n').filter((l) => re.test(l));
  const random = outputs.map((o) => pick(o, /^random /));
  assert.equal(random[1], random[0]);
  assert.equal(random[2], random[0]);
  const names = outputs.map((o) => pick(o, /^dirent /).map((l) => l.replace(/ ino=\d+/, '')));
  assert.equal(names[1], names[0]);
  assert.equal(names[2], names[0]);
});

test.run();
