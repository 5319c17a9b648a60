/**
 * The sandbox under a guest racing itself (issue 8, defect 1): on one syscall thread the guest keeps
 * swapping a directory of its read-write grant with a symlink that leads out of it (rename the
 * directory away, rename the symlink onto its name, and back), while on another thread it resolves
 * paths through that directory with every kind of call. Each call must act inside the grant or fail;
 * nothing outside may be read, statted, created, truncated, removed or moved.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  EACCES,
  ENOENT,
  ENOTDIR,
  O_CREAT,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  SYS_close,
  SYS_getdents64,
  SYS_mkdirat,
  SYS_newfstatat,
  SYS_openat,
  SYS_read,
  SYS_renameat,
  SYS_unlinkat,
} from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures } from './helpers/kernel-fixtures.js';
import { settled, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;
const fx = new Fixtures<OsProcess>({ close: true });

const test = fx.guard(uvuTest);

/** Rounds of the race: enough to hit the window many times over on the code that had it (issue 8: 16 reads in 3,000). */
const ROUNDS = 1000;

function setup(threads: number, fileIo: 'auto' | 'threadpool') {
  const root = fx.tempDir('flexvm-os-race-');
  const g = path.join(root, 'granted');
  const out = path.join(root, 'outside');
  fs.mkdirSync(path.join(g, 'd'), { recursive: true });
  fs.mkdirSync(out);
  for (const dir of [path.join(g, 'd'), out]) {
    const label = dir === out ? 'OUTSIDE' : 'inside';
    fs.writeFileSync(path.join(dir, 'target.txt'), label);
    fs.writeFileSync(path.join(dir, 'victim.txt'), label);
    fs.writeFileSync(path.join(dir, 'doomed.txt'), label);
    fs.writeFileSync(path.join(dir, 'moved.txt'), label);
    fs.mkdirSync(path.join(dir, 'empty'));
  }
  fs.writeFileSync(path.join(out, 'only-outside.txt'), 'OUTSIDE');
  fs.symlinkSync(out, path.join(g, 'evil'));
  const kernels = Array.from({ length: threads }, (_, t) => new OsKernel({ kind: 'os', fileIo }, { thread: t, threadCount: threads, log: () => {} }));
  const p = fx.harness(kernels).spawn({ grants: [{ hostPath: g, guestPath: '/data' }], fdClasses: threads });
  return { root, g, out, p };
}

/** What is outside the grant, as it must stay. */
function snapshot(out: string): string {
  const lines: string[] = [];
  for (const name of fs.readdirSync(out).sort()) {
    const st = fs.lstatSync(path.join(out, name));
    lines.push(st.isFile() ? `${name} ${fs.readFileSync(path.join(out, name), 'utf8')}` : `${name}/ ${fs.readdirSync(path.join(out, name)).join(',')}`);
  }
  return lines.join('\n');
}

// On the threadpool, so that the calls of the two simulated threads interleave at every host call.
{
  test('a guest renaming a symlink over a directory while another thread resolves through it stays inside its grant', async () => {
    const { out, p } = setup(2, 'threadpool');
    const before = snapshot(out);
    const outsideIno = fs.statSync(path.join(out, 'target.txt')).ino;
    const on = (t: number, nr: number, ...a: number[]) => settled(p.on(t, nr, ...a));
    const s = (x: string) => p.cstr(x);
    // Paths and buffers once: the harness allocator only grows.
    const [D, D2, EVIL] = [s('/data/d'), s('/data/d2'), s('/data/evil')];
    const [TARGET, VICTIM, DOOMED, MOVED, EMPTY, MADE, LANDED, DIR] = [
      s('/data/d/target.txt'), s('/data/d/victim.txt'), s('/data/d/doomed.txt'), s('/data/d/moved.txt'),
      s('/data/d/empty'), s('/data/d/made'), s('/data/landed.txt'), s('/data/d'),
    ];
    const buf = p.alloc(64);
    const statBuf = p.statBuf();
    const dents = p.alloc(4096);
    const escapes: string[] = [];
    // How the opens went: through the directory, refused at the symlink (EACCES), or between swaps (ENOENT).
    const outcomes = new Map<number, number>();
    let swapping = true;

    // ROUNDS rounds at least, and on until the race was seen both ways (bounded: a loaded machine
    // may need more rounds to hit the window). Meeting the symlink itself (EACCES) is rare on a quiet
    // machine (3 ENOTDIRs and no EACCES in 11,000 opens once), so the precondition is that opens both
    // went through the directory and found something else in its place (EACCES, ENOTDIR or ENOENT).
    const misses = () => [-EACCES, -ENOTDIR, -ENOENT].reduce((n, e) => n + (outcomes.get(e) ?? 0), 0);
    const sawBoth = () => (outcomes.get(0) ?? 0) > 0 && misses() > 0;
    const deadline = Date.now() + 20_000;
    async function swapper(): Promise<void> {
      for (let i = 0; i < ROUNDS || (!sawBoth() && Date.now() < deadline); i++) {
        await on(1, SYS_renameat, AT_FDCWD, D, AT_FDCWD, D2);
        await on(1, SYS_renameat, AT_FDCWD, EVIL, AT_FDCWD, D);
        await on(1, SYS_renameat, AT_FDCWD, D, AT_FDCWD, EVIL);
        await on(1, SYS_renameat, AT_FDCWD, D2, AT_FDCWD, D);
      }
      swapping = false;
    }

    async function prober(): Promise<void> {
      while (swapping) {
        const fd = await on(0, SYS_openat, AT_FDCWD, TARGET, O_RDONLY, 0);
        outcomes.set(Math.min(fd, 0), (outcomes.get(Math.min(fd, 0)) ?? 0) + 1);
        if (fd >= 0) {
          const n = await on(0, SYS_read, fd, buf, 64);
          if (n > 0 && p.string(buf, n) === 'OUTSIDE') escapes.push('read a file outside the grant');
          await on(0, SYS_close, fd);
        }
        const w = await on(0, SYS_openat, AT_FDCWD, VICTIM, O_WRONLY | O_TRUNC, 0);
        if (w >= 0) await on(0, SYS_close, w);
        if ((await on(0, SYS_newfstatat, AT_FDCWD, TARGET, statBuf, 0)) === 0 && p.readStat(statBuf).ino === outsideIno) {
          escapes.push('statted a file outside the grant');
        }
        const c = await on(0, SYS_openat, AT_FDCWD, MADE, O_CREAT | O_WRONLY, 0o644);
        if (c >= 0) await on(0, SYS_close, c);
        await on(0, SYS_unlinkat, AT_FDCWD, MADE, 0);
        await on(0, SYS_mkdirat, AT_FDCWD, MADE, 0o755);
        await on(0, SYS_unlinkat, AT_FDCWD, MADE, AT_REMOVEDIR);
        await on(0, SYS_unlinkat, AT_FDCWD, DOOMED, 0);
        await on(0, SYS_unlinkat, AT_FDCWD, EMPTY, AT_REMOVEDIR);
        if ((await on(0, SYS_renameat, AT_FDCWD, MOVED, AT_FDCWD, LANDED)) === 0) {
          await on(0, SYS_renameat, AT_FDCWD, LANDED, AT_FDCWD, MOVED);
        }
        const dfd = await on(0, SYS_openat, AT_FDCWD, DIR, O_RDONLY, 0);
        if (dfd >= 0) {
          const n = await on(0, SYS_getdents64, dfd, dents, 4096);
          if (n > 0 && p.readDirents(dents, n).some((e) => e.name === 'only-outside.txt')) escapes.push('listed a directory outside the grant');
          await on(0, SYS_close, dfd);
        }
      }
    }

    await Promise.all([swapper(), prober()]);
    assert.equal(escapes, []);
    // The race did happen: opens met the directory, and something else in its place, both.
    assert.ok(sawBoth(), `opens by result: ${[...outcomes].join(' ')}`);
    assert.is(snapshot(out), before, 'nothing outside the grant changed');
  });
}

test.run();
