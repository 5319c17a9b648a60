// The command line's parsing, without starting anything: where flexvm's options end and the
// guest's begin (wasmtime's and wasmer's convention, and the older `GUEST [options] -- ARGS`),
// and directory grants in every spelling (--dir HOST, HOST:GUEST, HOST::GUEST, --mapdir GUEST::HOST).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRunOptions, splitRunArgs, UsageError } from '../host/cli/options.js';
import { DirSpecError, parseDirSpec, parseGrant, parseMapdirSpec } from '../host/vm/grants.js';

const tmp = mkdtempSync(join(tmpdir(), 'flexvm-opts-'));
writeFileSync(join(tmp, 'file'), 'x');
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('splitRunArgs: options before the module, everything after it is the guest\'s', () => {
  assert.equal(splitRunArgs(['--stats', 'x.wasm', '--help', '--stats'], true), { own: ['--stats'], guest: 'x.wasm', guestArgs: ['--help', '--stats'] });
  assert.equal(splitRunArgs(['x.wasm', '--', '--help'], true), { own: [], guest: 'x.wasm', guestArgs: ['--help'] });
  assert.equal(splitRunArgs(['--dir', 'a', 'x.wasm', 'b'], true), { own: ['--dir', 'a'], guest: 'x.wasm', guestArgs: ['b'] });
  assert.equal(splitRunArgs(['x.wasm', '--dir', 'a:/a', '--stats', '--', '--port', '1'], true), { own: ['--dir', 'a:/a', '--stats'], guest: 'x.wasm', guestArgs: ['--port', '1'] });
  // Not all flexvm options before the --: all of it is the guest's.
  assert.equal(splitRunArgs(['x.wasm', '--port', '1', '--', 'y'], true), { own: [], guest: 'x.wasm', guestArgs: ['--port', '1', '--', 'y'] });
  assert.equal(splitRunArgs(['--mode', 'sync', '--', 'x.wasm', 'a'], true), { own: ['--mode', 'sync'], guest: 'x.wasm', guestArgs: ['a'] });
  assert.equal(splitRunArgs(['--mode', 'sync', '--', '--conns', '2'], false), { own: ['--mode', 'sync'], guest: null, guestArgs: ['--conns', '2'] });
});

test('--env KEY=VALUE, and KEY alone passes this process\'s value', () => {
  process.env['FLEXVM_TEST_INHERIT'] = 'inherited';
  const o = parseRunOptions(['--env', 'A=1', '--env', 'B=', '--env', 'FLEXVM_TEST_INHERIT', '--env', 'FLEXVM_TEST_UNSET', 'x.wasm'], true);
  assert.equal(o.env, { A: '1', B: '', FLEXVM_TEST_INHERIT: 'inherited' });
  assert.throws(() => parseRunOptions(['--env', '=1', 'x.wasm'], true), (e: unknown) => e instanceof UsageError);
});

test('--dir HOST, HOST:GUEST, HOST::GUEST, with :ro and :rw; --mapdir GUEST::HOST', () => {
  assert.equal(parseDirSpec(tmp), { hostPath: tmp, guestPath: tmp });
  assert.equal(parseDirSpec(`${tmp}:/www`), { hostPath: tmp, guestPath: '/www' });
  assert.equal(parseDirSpec(`${tmp}:/www:ro`), { hostPath: tmp, guestPath: '/www', readOnly: true });
  assert.equal(parseDirSpec(`${tmp}::/www`), { hostPath: tmp, guestPath: '/www', wasiName: '/www' });
  assert.equal(parseDirSpec(`${tmp}::/www:ro`), { hostPath: tmp, guestPath: '/www', wasiName: '/www', readOnly: true });
  // wasmtime's spelling: a relative name is what a WASI program's preopen shows.
  assert.equal(parseDirSpec(`${tmp}::data`), { hostPath: tmp, guestPath: '/data', wasiName: 'data' });
  assert.equal(parseDirSpec(`${tmp}::.`), { hostPath: tmp, guestPath: '/', wasiName: '.' });
  assert.equal(parseDirSpec(`${tmp}:/www:rw`), { hostPath: tmp, guestPath: '/www' });
  assert.equal(parseDirSpec(`${tmp}:ro`), { hostPath: tmp, guestPath: tmp, readOnly: true });
  assert.equal(parseMapdirSpec(`/data::${tmp}`), { hostPath: tmp, guestPath: '/data', wasiName: '/data' });
  assert.equal(parseMapdirSpec(`/data::${tmp}:ro`), { hostPath: tmp, guestPath: '/data', wasiName: '/data', readOnly: true });
  const o = parseRunOptions(['--dir', `${tmp}:/a`, '--mapdir', `/b::${tmp}:ro`, 'x.wasm'], true);
  assert.equal(o.dirs, [{ hostPath: tmp, guestPath: '/a' }, { hostPath: tmp, guestPath: '/b', wasiName: '/b', readOnly: true }]);
});

test('the embedding API\'s dirs strings parse the same way, without checking the host path', () => {
  assert.equal(parseGrant('/nonexistent::/g:ro'), { hostPath: '/nonexistent', guestPath: '/g', wasiName: '/g', readOnly: true });
  assert.equal(parseGrant('/nonexistent:/g'), { hostPath: '/nonexistent', guestPath: '/g' });
  assert.throws(() => parseGrant('/x:/g:rx'), /unknown suffix/);
});

test('bad grants are refused with the reason', () => {
  const bad: [() => unknown, RegExp][] = [
    [() => parseDirSpec(join(tmp, 'missing')), /missing does not exist/],
    [() => parseDirSpec(join(tmp, 'file')), /is not a directory/],
    [() => parseDirSpec(`${tmp}:/www:rx`), /unknown suffix ":rx"/],
    [() => parseDirSpec(`${tmp}:www/x`), /the guest path must be absolute/],
    [() => parseDirSpec(`${tmp}:/a:b:ro`), /contains ":"/],
    [() => parseDirSpec(':/www'), /the host path is empty/],
    [() => parseMapdirSpec(`${tmp}`), /--mapdir expects GUEST::HOST/],
    [() => parseMapdirSpec(`::${tmp}`), /the guest name is empty/],
  ];
  for (const [f, re] of bad) {
    try {
      f();
      assert.unreachable(`accepted: ${re}`);
    } catch (e) {
      assert.ok(e instanceof DirSpecError, String(e));
      assert.match((e as Error).message, re);
    }
  }
});

test.run();
