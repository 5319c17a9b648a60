// End to end on the os kernel: the file sandbox as a guest meets it. A probe guest
// (tests/guests/fs-probe.wasm) runs openat, newfstatat, getdents64, mkdirat, unlinkat, renameat,
// read and write against a host directory granted with --dir, in every mode and with 1, 2 and 4
// syscall threads. Refused: ".." that climbs out of the grant (also relative to a directory
// descriptor), absolute paths outside the grants (guest and host paths alike), symlinks inside the
// grant that lead out of it (directory and file links, for every kind of call), descriptors the
// guest does not own (never opened, or another guest's), paths longer than PATH_MAX and paths that
// run off the end of memory. Allowed operations work and land in the host directory; nothing
// outside it changes. A grant given as HOST:GUEST:ro reads but answers EROFS to every change. Errno
// choices as host/kernel/os/sandbox.ts documents them. The refusal table also runs on the virtual
// kernel (its grants are copies in memory: escaping symlinks are not copied, so they are ENOENT
// there), and on the native kernel with `npm run test:native`.
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES, EBADF, EBUSY, EEXIST, EFAULT, ENAMETOOLONG, ENOENT, ENOTEMPTY, EROFS } from '../host/abi/v1.js';
import { VM, parseGrant } from '../host/vm/vm.js';
import { CONFIGS, MODES, VmPool, label, run, start, waitFor, type Outcome } from './helpers/e2e.js';

const pool = new VmPool({ kernel: 'os' });
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-os-sandbox-'));
test.after(async () => {
  await pool.close();
  rmSync(tmp, { recursive: true, force: true });
});

const PROBE = 'tests/guests/fs-probe';
let nextDir = 0;

/** A fresh host tree: data/ (granted as /data) with files and symlinks, outside/ beside it. */
function tree(): { root: string; data: string; outside: string } {
  const root = join(tmp, `t${nextDir++}`);
  const data = join(root, 'data');
  const outside = join(root, 'outside');
  mkdirSync(join(data, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(data, 'f.txt'), 'hello data');
  writeFileSync(join(data, 'sub', 'g.txt'), 'in sub');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync('f.txt', join(data, 'inner')); // stays inside: allowed
  symlinkSync('../outside', join(data, 'escape')); // a directory link leading out
  symlinkSync(join(outside, 'secret.txt'), join(data, 'abs')); // an absolute file link leading out
  // A hard link to a file outside: the same file, so it is served (a documented limit: docs/security.md).
  linkSync(join(outside, 'secret.txt'), join(data, 'hard'));
  return { root, data, outside };
}

/** The probe's report line names an operation like this (see tests/guests/fs-probe.ts). */
function keyOf(op: string): string {
  const i = op.indexOf(':');
  if (i < 0) return op;
  const kind = op.slice(0, i);
  const rest = op.slice(i + 1);
  const j = rest.indexOf(':');
  if (kind === 'write') return `${kind} ${rest.slice(0, j)}`;
  if (kind === 'rename' || kind === 'at') return `${kind} ${rest.slice(0, j)} ${rest.slice(j + 1)}`;
  return `${kind} ${rest}`;
}

/** The probe's report, one line per operation in order: `OP ARG = RESULT[ DETAIL]`. */
function results(o: Outcome, ops: readonly string[]): string[] {
  const lines = o.stdout.split('\n').filter((l) => l.includes(' = '));
  assert.is(lines.length, ops.length, `one report line per operation\n${o.stdout}\n${o.stderr}`);
  return lines.map((line, i) => {
    const at = line.indexOf(' = ');
    assert.is(line.slice(0, at).trim(), keyOf(ops[i]!), 'report order');
    return line.slice(at + 3);
  });
}

/**
 * The refusal table: [operation, what it gives on the os and native kernels, and on the virtual kernel
 * where that differs]. The virtual kernel copies a grant into memory at attach and skips the
 * symlinks that lead out of it (host/kernel/virtual/grants.ts): there they do not exist (ENOENT),
 * where the os and native kernels find the name and refuse to follow it (EACCES).
 */
function refusalTable(root: string, outside: string): [string, string | number | RegExp, (string | number | RegExp)?][] {
  return [
    // Inside the grant.
    ['read:/data/f.txt', '10 hello data'],
    ['read:/data/inner', '10 hello data'],
    ['read:/data/sub/../f.txt', '10 hello data'],
    ['stat:/data/sub/g.txt', '0 size=6'],
    ['at:/data/sub:../f.txt', /^\d+$/],
    ['list:/data', '6 abs,escape,f.txt,hard,inner,sub', '4 f.txt,hard,inner,sub'],
    // The directories above the grants exist, read-only, and list only the grants.
    ['list:/', '1 data'],
    // (On virtual the tree above the grants is the guest's own memory: a new directory there is its own.)
    ['mkdir:/newtop', -EACCES, 0],
    ['rmdir:/data', -EBUSY, -ENOTEMPTY], // a grant root is a mount point on os and native; on virtual a directory with files
    // ".." cannot climb out: /data/../outside is /outside, outside every grant.
    ['read:/data/../outside/secret.txt', -ENOENT],
    ['read:/data/sub/../../outside/secret.txt', -ENOENT],
    ['at:/data/sub:../../outside/secret.txt', -ENOENT],
    ['stat:/../../../etc/passwd', -ENOENT],
    // ".." in other spellings: doubled or dotted separators climb the same way; percent-encoded
    // dots are plain names (no such file); climbing out and back in is allowed.
    ['read:/data//../outside/secret.txt', -ENOENT],
    ['read:/data/./../outside/secret.txt', -ENOENT],
    ['read:/data/sub/.././../outside/secret.txt', -ENOENT],
    ['read:/data/%2e%2e/outside/secret.txt', -ENOENT],
    ['read:/data/..%2foutside%2fsecret.txt', -ENOENT],
    ['stat:/data/../data/f.txt', '0 size=10'],
    // A hard link inside the grant is the file it links: served (documented, not refusable by path).
    ['read:/data/hard', '6 secret'],
    // Absolute paths outside the grants, the host's own path included.
    ['open:/etc/passwd', -ENOENT],
    [`open:${join(outside, 'secret.txt')}`, -ENOENT],
    [`list:${root}`, -ENOENT],
    // Symlinks that lead out: the name exists, but following it is refused.
    ['read:/data/escape/secret.txt', -EACCES, -ENOENT],
    ['read:/data/abs', -EACCES, -ENOENT],
    ['stat:/data/escape', -EACCES, -ENOENT],
    ['stat:/data/abs', -EACCES, -ENOENT],
    ['lstat:/data/escape', /^0 size=\d+$/, -ENOENT],
    ['list:/data/escape', -EACCES, -ENOENT],
    ['at:/data/escape:secret.txt', `${-EACCES} (the directory)`, `${-ENOENT} (the directory)`],
    ['write:/data/escape/new.txt:x', -EACCES, -ENOENT],
    ['mkdir:/data/escape/newdir', -EACCES, -ENOENT],
    ['unlink:/data/escape/secret.txt', -EACCES, -ENOENT],
    ['rename:/data/f.txt:/data/escape/moved.txt', -EACCES, -ENOENT],
    ['rename:/data/escape/secret.txt:/data/stolen.txt', -EACCES, -ENOENT],
    // Descriptors the guest does not own.
    ['fstat:7', -EBADF],
    ['readfd:9', -EBADF],
    ['close:5', -EBADF],
    ['fstat:-1', -EBADF],
    ['readfd:100000', -EBADF],
    // NUL-terminated strings: longer than PATH_MAX, or running off the end of memory.
    ['long:4096', -ENAMETOOLONG],
    ['long:5000', -ENAMETOOLONG],
    ['long:4000', -ENOENT],
    ['unterminated', -EFAULT],
    ['badptr', -EFAULT],
    // Allowed changes.
    ['mkdir:/data/made', 0],
    ['write:/data/made/w.txt:written', 7],
    ['rename:/data/made/w.txt:/data/moved.txt', 0],
    ['unlink:/data/sub/g.txt', 0],
    ['unlink:/data/inner', 0],
    ['read:/data/moved.txt', '7 written'],
    ['list:/data', '7 abs,escape,f.txt,hard,made,moved.txt,sub', '5 f.txt,hard,made,moved.txt,sub'],
  ];
}

for (const { mode, threads } of CONFIGS) {
  test(label('sandbox: refusals (.., outside paths, escaping symlinks, foreign descriptors, long and unterminated paths); allowed calls land on the host', mode, threads), async () => {
    const { root, data, outside } = tree();
    const expected = refusalTable(root, outside);
    const vm = await pool.get(threads);
    const o = await run(vm, PROBE, { mode, args: expected.map(([op]) => op), dirs: [`${data}:/data`] });
    const what = label('fs-probe', mode, threads);
    assert.is(o.status, 0, `${what}: status\n${o.stdout}\n${o.stderr}`);
    const got = results(o, expected.map(([op]) => op));
    expected.forEach(([op, want], i) => {
      if (want instanceof RegExp) assert.match(got[i]!, want, `${what}: ${op}`);
      else assert.is(got[i], String(want), `${what}: ${op}`);
    });
    // On the host: the allowed changes happened, in the granted directory only.
    assert.ok(existsSync(join(data, 'made')) && readdirSync(join(data, 'made')).length === 0, 'made/ created, w.txt moved out of it');
    assert.is(readFileSync(join(data, 'moved.txt'), 'utf8'), 'written');
    assert.not.ok(existsSync(join(data, 'sub', 'g.txt')), 'sub/g.txt removed');
    assert.not.ok(existsSync(join(data, 'inner')), 'the symlink itself removed');
    assert.is(readFileSync(join(data, 'f.txt'), 'utf8'), 'hello data', 'f.txt not moved');
    assert.equal(readdirSync(outside), ['secret.txt'], 'nothing created outside');
    assert.is(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'secret');
    assert.equal(readdirSync(root).sort(), ['data', 'outside'], 'nothing created beside the grant');
  });
}

// The same table on the virtual kernel: its grants are copies in memory, so nothing reaches the host
// (the allowed changes stay in the copy), and the escaping symlinks were never copied in. A VM per
// run: a virtual kernel copies a guest path's grant once, for every guest after.
for (const mode of MODES) {
  test(label('sandbox table on the virtual kernel: the same refusals; allowed calls change only its copy', mode, 2), async () => {
    const { root, data, outside } = tree();
    const expected = refusalTable(root, outside);
    const vm = await VM.create({ kernel: 'virtual', syscallThreads: 2 });
    const o = await run(vm, PROBE, { mode, args: expected.map(([op]) => op), dirs: [`${data}:/data`] }).finally(() => vm.close());
    const what = label('fs-probe on virtual', mode, 2);
    assert.is(o.status, 0, `${what}: status\n${o.stdout}\n${o.stderr}`);
    const got = results(o, expected.map(([op]) => op));
    expected.forEach(([op, osWant, virtualWant], i) => {
      const want = virtualWant ?? osWant;
      if (want instanceof RegExp) assert.match(got[i]!, want, `${what}: ${op}`);
      else assert.is(got[i], String(want), `${what}: ${op}`);
    });
    assert.equal(readdirSync(data).sort(), ['abs', 'escape', 'f.txt', 'hard', 'inner', 'sub'], 'the host directory is as it was');
    assert.is(readFileSync(join(data, 'sub', 'g.txt'), 'utf8'), 'in sub');
    assert.equal(readdirSync(outside), ['secret.txt']);
    assert.is(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'secret');
  });
}

for (const mode of MODES) {
  test(label("sandbox: a guest cannot use another guest's descriptors", mode, 2), async () => {
    const { data } = tree();
    const vm = await pool.get(2);
    const a = await start(vm, PROBE, { mode, args: ['keep:/data/f.txt', 'hold:300', 'readfd:kept', 'fstat:kept'], dirs: [`${data}:/data`] });
    await waitFor(() => /^keep \/data\/f\.txt = \d+$/m.test(a.stdout()), 5_000);
    const fd = /^keep \/data\/f\.txt = (\d+)$/m.exec(a.stdout())![1]!;
    const b = await run(vm, PROBE, { mode, args: [`fstat:${fd}`, `readfd:${fd}`, `close:${fd}`], dirs: [`${data}:/data`] });
    assert.is(b.status, 0, b.stderr);
    assert.equal(results(b, [`fstat:${fd}`, `readfd:${fd}`, `close:${fd}`]), [String(-EBADF), String(-EBADF), String(-EBADF)], b.stdout);
    // The owner's descriptor is untouched by the other guest's close.
    const oa = await a.done;
    assert.is(oa.status, 0, oa.stderr);
    assert.equal(results(oa, ['keep:/data/f.txt', 'hold:300', 'readfd:kept', 'fstat:kept']).slice(1), ['0', '10 hello data', '0'], oa.stdout);
  });
}

for (const mode of MODES) {
  test(label('sandbox: a read-only grant (--dir HOST:GUEST:ro) reads, and refuses every change with EROFS', mode, 2), async () => {
    const { data } = tree();
    const expected: [string, string | number][] = [
      ['read:/data/f.txt', '10 hello data'],
      ['read:/data/inner', '10 hello data'],
      ['list:/data', '6 abs,escape,f.txt,hard,inner,sub'],
      ['write:/data/f.txt:x', -EROFS],
      ['write:/data/new.txt:x', -EROFS],
      ['mkdir:/data/made', -EROFS],
      ['mkdir:/data/sub', -EEXIST],
      ['unlink:/data/sub/g.txt', -EROFS],
      ['unlink:/data/nothing', -ENOENT],
      ['rmdir:/data/sub', -EROFS],
      ['rename:/data/f.txt:/data/g.txt', -EROFS],
      ['read:/data/escape/secret.txt', -EACCES],
      ['read:/data/f.txt', '10 hello data'],
    ];
    const vm = await pool.get(2);
    const o = await run(vm, PROBE, { mode, args: expected.map(([op]) => op), dirs: [`${data}:/data:ro`] });
    assert.is(o.status, 0, `status\n${o.stdout}\n${o.stderr}`);
    const got = results(o, expected.map(([op]) => op));
    expected.forEach(([op, want], i) => assert.is(got[i], String(want), `${label('fs-probe :ro', mode, 2)}: ${op}`));
    assert.equal(readdirSync(data).sort(), ['abs', 'escape', 'f.txt', 'hard', 'inner', 'sub'], 'nothing created or removed');
    assert.is(readFileSync(join(data, 'f.txt'), 'utf8'), 'hello data', 'not truncated');
    assert.equal(readdirSync(join(data, 'sub')), ['g.txt']);
  });
}

for (const threads of [2, 4]) {
  test(label('sandbox: a guest swapping a directory with an escaping symlink while it opens through it on other threads stays inside (issue 8)', 'exceptionless', threads), async () => {
    const root = join(tmp, `race${nextDir++}`);
    const data = join(root, 'data');
    const outside = join(root, 'outside');
    mkdirSync(join(data, 'd'), { recursive: true });
    mkdirSync(outside);
    for (const [dir, text] of [[join(data, 'd'), 'inside'], [outside, 'OUTSIDE']] as const) {
      writeFileSync(join(dir, 'target.txt'), text);
      writeFileSync(join(dir, 'victim.txt'), text);
    }
    symlinkSync(outside, join(data, 'evil'));
    const vm = await pool.get(threads);
    const o = await run(vm, 'tests/guests/rename-race', { args: ['--rounds', '800', '--probers', '3'], dirs: [`${data}:/data`] });
    assert.is(o.status, 0, o.stderr);
    const m = /rounds=(\d+) probes=(\d+) inside=(\d+) escapes=(\d+)/.exec(o.stdout);
    assert.ok(m, o.stdout);
    assert.is(m![1], '800');
    assert.ok(Number(m![3]) > 0, `some probes read through the directory: ${o.stdout}`);
    assert.is(m![4], '0', 'no probe read the file outside the grant');
    assert.equal(readdirSync(outside).sort(), ['target.txt', 'victim.txt'], 'nothing created outside');
    assert.is(readFileSync(join(outside, 'victim.txt'), 'utf8'), 'OUTSIDE', 'nothing truncated outside');
  });
}

test('--dir specs: HOST, HOST:GUEST, and either with :ro or :rw', () => {
  assert.equal(parseGrant('/srv/site:/www'), { hostPath: '/srv/site', guestPath: '/www' });
  assert.equal(parseGrant('/srv/site:/www:ro'), { hostPath: '/srv/site', guestPath: '/www', readOnly: true });
  assert.equal(parseGrant('/srv/site:/www:rw'), { hostPath: '/srv/site', guestPath: '/www' });
  assert.equal(parseGrant('/srv/site:ro'), { hostPath: '/srv/site', guestPath: '/srv/site', readOnly: true });
  assert.equal(parseGrant('/srv/site'), { hostPath: '/srv/site', guestPath: '/srv/site' });
  assert.throws(() => parseGrant(':/www:ro'), /expected HOST\[:GUEST\]\[:ro\]/);
  assert.throws(() => parseGrant('/srv/site:www:ro'), /must be absolute/);
});

test.run();
