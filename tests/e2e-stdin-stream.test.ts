// Standard input as a stream (issue 12), on the virtual, os and native kernels: a guest reads what
// has arrived while more is still to come (its read waits while nothing is there, and wakes when
// input arrives or at end of file), poll sees fd 0 readable when input is there, and a guest that
// does not read stops the host from reading its source (no unbounded buffering). Through the
// embedding API (`spawn({ stdin: Readable })`) and the CLI (`cmd | flexvm run`), for flexvm guests
// and WASI programs.
import { spawn, spawnSync } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { VM, type Mode } from '../host/vm/vm.js';
import { guestPath, ROOT, waitFor } from './helpers/e2e.js';
import { native, nativeTest } from './helpers/native.js';
import { buildC, cTest } from './helpers/wasi-programs.js';

const CAT = guestPath('tests/guests/stdin-cat');
const HELLO = guestPath('tests/guests/hello');
const CLI = join(ROOT, 'build/host/cli/main.js');
const KERNELS = ['virtual', 'os', 'native'] as const;
const MODES: readonly Mode[] = ['exceptionless', 'sync', 'epoll'];
const text = (d: Uint8Array): string => Buffer.from(d).toString();
const ctest = cTest('e2e-stdin-stream.test.ts');

/** An endless-looking source that counts the bytes the host pulled from it (64 KiB per read, `total` in all). */
function countingSource(total: number): { source: Readable; pulled: () => number } {
  let pulled = 0;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const source = new Readable({
    read() {
      const n = Math.min(chunk.length, total - pulled);
      if (n <= 0) return void this.push(null);
      pulled += n;
      this.push(chunk.subarray(0, n));
    },
  });
  return { source, pulled: () => pulled };
}

for (const kernel of KERNELS) {
  const test = kernel === 'native' ? nativeTest() : uvuTest;

  for (const mode of MODES) {
    test(`${kernel} kernel, ${mode}: a read returns what has arrived and waits for the rest (a before b exists)`, async () => {
      const vm = await VM.create({ kernel, syscallThreads: 2 });
      try {
        const source = new PassThrough();
        let out = '';
        let err = '';
        const guest = await vm.spawn(CAT, { mode, stdin: source, stdout: (d) => void (out += text(d)), stderr: (d) => void (err += text(d)) });
        source.write('a\n');
        // 'b' is written only once 'a' came back: a guest that waited for the whole input would hang here.
        await waitFor(() => out === 'a\n', 15_000);
        source.end('b\n');
        const r = await guest.exited;
        assert.is(r.status, 0, err);
        assert.is(out, 'a\nb\n');
        assert.match(err, 'read 4 bytes');
      } finally {
        await vm.close();
      }
    });
  }

  test(`${kernel} kernel: poll on fd 0 waits for input, then sees POLLIN (and POLLHUP at the end)`, async () => {
    const vm = await VM.create({ kernel });
    try {
      const source = new PassThrough();
      let out = '';
      let err = '';
      const guest = await vm.spawn(CAT, { args: ['--poll'], stdin: source, stdout: (d) => void (out += text(d)), stderr: (d) => void (err += text(d)) });
      await new Promise((r) => setTimeout(r, 100)); // the guest polls an empty stdin meanwhile
      assert.is(out, '');
      source.write('first\n');
      await waitFor(() => out === 'first\n', 15_000);
      source.end('second\n');
      const r = await guest.exited;
      assert.is(r.status, 0, err);
      assert.is(out, 'first\nsecond\n');
      assert.match(err, 'read 13 bytes');
    } finally {
      await vm.close();
    }
  });

  test(`${kernel} kernel: a megabyte streams through; an empty stream is end of file at once`, async () => {
    const vm = await VM.create({ kernel });
    try {
      const { source } = countingSource(1_000_000);
      let got = 0;
      let err = '';
      const r = await vm.run(CAT, { stdin: source, stdout: (d) => void (got += d.length), stderr: (d) => void (err += text(d)) });
      assert.is(r.status, 0, err);
      assert.match(err, 'read 1000000 bytes');
      assert.is(got, 1_000_000);
      let err2 = '';
      const empty = await vm.run(CAT, { stdin: Readable.from([]), stdout: () => {}, stderr: (d) => void (err2 += text(d)) });
      assert.is(empty.status, 0, err2);
      assert.match(err2, 'read 0 bytes');
    } finally {
      await vm.close();
    }
  });

  // The guest copies stdin to a stdout whose sink takes nothing, so it soon stops reading: the host
  // must then stop pulling from the source (the ring, the guest's buffer and, on native, its pipe are
  // all it may hold beyond what the sink queued), however much the source could give.
  test(`${kernel} kernel: a guest that does not read holds the host's reading of its source (back-pressure)`, async () => {
    const vm = await VM.create({ kernel });
    try {
      const TOTAL = 8 << 20;
      const { source, pulled } = countingSource(TOTAL);
      let delivered = 0;
      let stalled = true;
      const held: (() => void)[] = [];
      let err = '';
      const guest = await vm.spawn(CAT, {
        stdin: source,
        stdout: (d) => {
          delivered += d.length;
          return stalled ? new Promise<void>((r) => held.push(r)) : undefined;
        },
        stderr: (d) => void (err += text(d)),
      });
      await waitFor(() => delivered > 0, 15_000);
      // Wait until the pulling stops (unchanged for 500 ms).
      let last = -1;
      for (let i = 0; i < 100 && pulled() !== last; i++) {
        last = pulled();
        await new Promise((r) => setTimeout(r, 500));
      }
      // What may wait between the source and the sink: the ring, the guest's buffer, a chunk the host
      // holds, the source's own buffer and, on native, the two pipes and a socket's write buffer.
      const slack = 1 << 20;
      assert.ok(pulled() <= delivered + slack, `pulled ${pulled()} bytes from the source with ${delivered} delivered`);
      assert.ok(pulled() < TOTAL / 2, `pulled ${pulled()} of ${TOTAL}`);
      stalled = false;
      for (const r of held.splice(0)) r();
      const r = await guest.exited;
      assert.is(r.status, 0, err);
      assert.match(err, `read ${TOTAL} bytes`);
      await waitFor(() => delivered === TOTAL, 5000);
    } finally {
      await vm.close();
    }
  });

  test(`${kernel} kernel: a guest that ends without reading lets go of its endless source`, async () => {
    const vm = await VM.create({ kernel });
    try {
      const source = new PassThrough();
      source.write('never read\n');
      const r = await vm.run(HELLO, { stdin: source, stdout: () => {}, stderr: () => {} });
      assert.is(r.status, 0);
      assert.is(source.listenerCount('data'), 0, 'no listener left on the source');
      assert.is.not(source.readableFlowing, true, 'the source is not flowing');
    } finally {
      await vm.close();
    }
  });
}

// ------------------------------------------------------------------ the CLI: the host's stdin

/**
 * `cat | flexvm run ARGS...`: the test writes into `cat`, whose output reaches the CLI through a real
 * pipe (the host's stdin as a user's shell gives it), and reads the CLI's output as it comes.
 */
function piped(args: readonly string[]): { write(s: string): void; end(s: string): void; out(): string; err(): string; done: Promise<number | null> } {
  const child = spawn('sh', ['-c', 'cat | "$0" "$@"', process.execPath, CLI, 'run', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))));
  return { write: (s) => child.stdin.write(s), end: (s) => child.stdin.end(s), out: () => out, err: () => err, done };
}

function cliTests(label: string, wasm: () => string, t: (name: string, fn: () => Promise<void>) => void): void {
  for (const kernel of KERNELS) {
    const test = kernel === 'native' && typeof native === 'string' ? nativeTest() : t;
    test(`CLI, ${label}, ${kernel} kernel: (a; wait; b) | flexvm run shows a before b is written`, async () => {
      const p = piped(['--kernel', kernel, wasm()]);
      p.write('a\n');
      await waitFor(() => p.out() === 'a\n', 20_000).catch(() => assert.unreachable(`no 'a' yet: ${JSON.stringify(p.out())} ${p.err()}`));
      p.end('b\n');
      assert.is(await p.done, 0, p.err());
      assert.is(p.out(), 'a\nb\n');
      assert.match(p.err(), 'read 4 bytes');
    });
    test(`CLI, ${label}, ${kernel} kernel: yes | head -c 1000000 | flexvm run`, async () => {
      const r = spawnSync('sh', ['-c', 'yes | head -c 1000000 | "$0" "$@" | wc -c', process.execPath, CLI, 'run', '--kernel', kernel, wasm()], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.is(r.stdout.trim(), '1000000', r.stderr);
      assert.match(r.stderr, 'read 1000000 bytes');
    });
  }
}

uvuTest('CLI: a guest that ends first does not wait for an endless pipe (yes | flexvm run hello)', async () => {
  for (const kernel of KERNELS.filter((k) => k !== 'native' || typeof native !== 'string')) {
    const r = spawnSync('sh', ['-c', 'yes | "$0" "$@"', process.execPath, CLI, 'run', '--kernel', kernel, HELLO], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'hello from the guest\n');
  }
});

cliTests('a flexvm guest (fd 0)', () => CAT, uvuTest);
cliTests('a WASI program (C, fd_read)', () => buildC('cat'), ctest);

uvuTest.run();
