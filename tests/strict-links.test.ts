// --strict-links (issue 8, defect 8): a hard link inside a grant to a file outside it is that file,
// so under a read-write grant it is writable; with strictLinks a kernel refuses opening for writing
// (or truncating) any regular file with more than one link: -EACCES, and the file outside is left
// as it was (not truncated by the refused open). Reading stays allowed, and a file with one link is
// written as before. Without the option the link is written through: the documented limit
// (docs/security.md). Run through the VM with tests/guests/fs-probe on the virtual, os and native
// kernels. The virtual kernel copies a grant into memory (a host hard link becomes a copy there),
// so on it the links are made by the guest itself (linkat).
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES } from '../host/abi/v1.js';
import { VM } from '../host/vm/vm.js';
import { guestPath } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';

const tmp = mkdtempSync(join(tmpdir(), 'flexvm-strict-links-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A grant `data/` holding `own.txt` and `link.txt`, a hard link to `outside/secret.txt` beyond it. */
function tree(name: string): { data: string; secret: string } {
  const root = join(tmp, name);
  mkdirSync(join(root, 'data'), { recursive: true });
  mkdirSync(join(root, 'outside'));
  const secret = join(root, 'outside/secret.txt');
  writeFileSync(secret, 'secret');
  writeFileSync(join(root, 'data/own.txt'), 'own');
  linkSync(secret, join(root, 'data/link.txt'));
  return { data: join(root, 'data'), secret };
}

async function probe(kind: 'virtual' | 'os' | 'native', strictLinks: boolean, data: string, ops: string[]): Promise<string[]> {
  const vm = await VM.create({ kernel: { kind, ...(strictLinks ? { strictLinks: true } : {}) } });
  try {
    let out = '';
    let err = '';
    const r = await vm.run(guestPath('tests/guests/fs-probe'), {
      args: ops,
      dirs: [`${data}:/data`],
      stdout: (d) => void (out += Buffer.from(d).toString()),
      stderr: (d) => void (err += Buffer.from(d).toString()),
    });
    assert.is(r.status, 0, err);
    return out.trim().split('\n');
  } finally {
    await vm.close();
  }
}

const result = (line: string | undefined): number => Number(/ = (-?\d+)/.exec(line ?? '')?.[1]);

const REAL: ['os' | 'native', (name: string, fn: () => Promise<void>) => void][] = [
  ['os', test],
  ['native', nativeTest()],
];
for (const [kind, t] of REAL) {
  t(`${kind} kernel, --strict-links: writing through a hard link to a file outside the grant is EACCES and leaves it whole; reading is allowed`, async () => {
    const { data, secret } = tree(`${kind}-strict`);
    const lines = await probe(kind, true, data, ['write:/data/link.txt:pwned', 'read:/data/link.txt', 'write:/data/own.txt:mine', 'read:/data/own.txt']);
    assert.is(result(lines[0]), -EACCES, lines.join('\n'));
    assert.is(readFileSync(secret, 'utf8'), 'secret', 'not truncated, not written');
    assert.match(lines[1]!, / = 6 secret/);
    assert.is(result(lines[2]), 4, 'a file with one link is written as before');
    assert.match(lines[3]!, / = 4 mine/);
  });

  t(`${kind} kernel, without --strict-links: the link is written through (the documented limit)`, async () => {
    const { data, secret } = tree(`${kind}-loose`);
    const lines = await probe(kind, false, data, ['write:/data/link.txt:pwned']);
    assert.is(result(lines[0]), 5, lines.join('\n'));
    assert.is(readFileSync(secret, 'utf8'), 'pwned');
  });
}

test('virtual kernel, --strict-links: a file the guest linked twice is not opened for writing; after the second name goes, it is', async () => {
  const { data } = tree('virtual');
  const lines = await probe('virtual', true, data, [
    'link:/data/own.txt:/data/twin.txt',
    'write:/data/twin.txt:x',
    'write:/data/own.txt:x',
    'read:/data/own.txt',
    'unlink:/data/twin.txt',
    'write:/data/own.txt:x',
  ]);
  assert.is(result(lines[0]), 0, lines.join('\n'));
  assert.is(result(lines[1]), -EACCES);
  assert.is(result(lines[2]), -EACCES);
  assert.match(lines[3]!, / = 3 own/, 'not truncated');
  assert.is(result(lines[4]), 0);
  assert.is(result(lines[5]), 1);
  const loose = await probe('virtual', false, data, ['link:/data/own.txt:/data/twin.txt', 'write:/data/twin.txt:x']);
  assert.is(result(loose[1]), 1, 'without the option, as Linux');
});

test.run();
