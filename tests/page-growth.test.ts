// Syscall pages added at run time (issue 8, defect 3; ABI 1.3's flexvm.add_pages): a guest that
// holds more calls waiting at once than its first pages have entries keeps working on every
// kernel, up to the host's limit (--max-pages: past it -ENOSPC, and calls wait for an entry);
// registrations a hostile guest makes (overlapping, outside memory, misaligned, in low memory,
// counts below one) are refused with -errno and change nothing. The guest is
// tests/guests/page-growth.ts, run through the VM on the virtual, os and native kernels with two
// syscall threads (tests/native-page-growth.test.ts drives the native addon's own checks directly).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EFAULT, EINVAL, ENOSPC } from '../host/abi/v1.js';
import { VM } from '../host/vm/vm.js';
import { guestPath } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';

type KernelChoice = 'virtual' | 'os' | 'native';
const KERNELS: [KernelChoice, (name: string, fn: () => Promise<void>) => void][] = [
  ['virtual', test],
  ['os', test],
  ['native', nativeTest()],
];

async function runGuest(kernel: KernelChoice, args: string[], maxPages?: number): Promise<{ status: number; out: string; err: string }> {
  const vm = await VM.create({ kernel, syscallThreads: 2, ...(maxPages ? { limits: { maxPages } } : {}) });
  try {
    let out = '';
    let err = '';
    const r = await vm.run(guestPath('tests/guests/page-growth'), {
      args,
      stdout: (d) => void (out += Buffer.from(d).toString()),
      stderr: (d) => void (err += Buffer.from(d).toString()),
    });
    return { status: r.status, out, err };
  } finally {
    await vm.close();
  }
}

const READS = 400;

for (const [kernel, t] of KERNELS) {
  const name = kernel;
  t(`${name} kernel: ${READS} reads waiting at once from 2 pages to start (about 110 entries): pages are added and every read completes`, async () => {
    const r = await runGuest(kernel, ['--pages', '2', '--limit', '64', '--reads', String(READS)]);
    assert.is(r.status, 0, r.err + r.out);
    const m = /reads (\d+) pages (\d+) limit (\d+) error (-?\d+)/.exec(r.out);
    assert.ok(m, r.out + r.err);
    assert.is(Number(m![1]), READS);
    assert.ok(Number(m![2]) > 2 && Number(m![2]) <= 64, `pages ${m![2]}`);
    assert.is(Number(m![3]), 64, 'the guest\'s own limit (below the host\'s)');
    assert.is(Number(m![4]), 0);
  });

  t(`${name} kernel: the host's --max-pages caps the pages; the reads past them wait for an entry and still complete`, async () => {
    const r = await runGuest(kernel, ['--pages', '2', '--limit', '64', '--reads', String(READS)], 4);
    assert.is(r.status, 0, r.err + r.out);
    assert.match(r.out, `reads ${READS} pages 4 limit 4 error 0`);
  });

  t(`${name} kernel: hostile page registrations are refused with -errno; a good one after them is taken; past the limit, -ENOSPC`, async () => {
    const r = await runGuest(kernel, ['--pages', '1', '--limit', '3', '--hostile']);
    assert.is(r.status, 0, r.err + r.out);
    const expected = [-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EFAULT, -EFAULT, -EINVAL, -EINVAL, 2, -EINVAL, -ENOSPC];
    assert.match(r.out, `hostile ${expected.join(' ')}`);
  });

  t(`${name} kernel: a guest asking for more pages at registration than --max-pages is refused`, async () => {
    const r = await runGuest(kernel, ['--pages', '8', '--limit', '8', '--reads', '0'], 4);
    assert.match(r.out, `init -${ENOSPC}`);
    assert.match(r.err, /more than this host's limit of 4 \(--max-pages\)/);
  });
}

test.run();
