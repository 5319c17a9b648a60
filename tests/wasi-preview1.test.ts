// Unmodified WASI preview 1 programs: the loader's memory rewrite (virtual memory.size/grow, the
// host region, imported memories, the content-hash cache), the preview 1 probe
// (tests/guests/wasi-c/preview1.c: every function on its success and error paths) on both kernels,
// both modes and 1 or 2 syscall threads, the same probe under node:wasi with each difference
// explained, an AssemblyScript wasi-shim program, sockets on a --listen grant, and the CLI's errors.
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, symlinkSync, mkdtempSync, openSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VM } from '../host/index.js';
import { rewriteWasiModule, HOST_REGION_PAGES, DEFAULT_PROGRAM_MAX_PAGES, REWRITE_VERSION } from '../host/wasi/memory-rewrite.js';
import { contentKey } from '../host/wasi/content-cache.js';
import { prepareWasiProgram, programKind } from '../host/wasi/wasi-module.js';
import { ROOT } from './helpers/e2e.js';
import { buildAs, buildC, cTest } from './helpers/wasi-programs.js';

const CLI = join(ROOT, 'build/host/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-wasi-'));
// This suite's rewrites (and its CLI children's) go to a cache of its own; other suites keep theirs.
const savedCache = process.env['FLEXVM_CACHE_DIR'];
test.before(() => {
  process.env['FLEXVM_CACHE_DIR'] = join(tmp, 'cache');
});
test.after(() => {
  if (savedCache === undefined) delete process.env['FLEXVM_CACHE_DIR'];
  else process.env['FLEXVM_CACHE_DIR'] = savedCache;
  rmSync(tmp, { recursive: true, force: true });
});
const ctest = cTest('wasi-preview1.test.ts');

/** A module by hand: (memory IMPORT-OR-DEFINED) with exports size() and grow(n) over memory.size/grow. */
function memoryModule(memory: 'defined' | 'imported', initial: number, max: number | null): Uint8Array {
  const limits = max === null ? [0x00, initial] : [0x01, initial, max];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const sec = (id: number, body: number[]) => bytes.push(id, body.length, ...body);
  sec(1, [2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f]); // types: () -> i32, (i32) -> i32
  if (memory === 'imported') sec(2, [1, 1, 0x6d, 1, 0x6d, 0x02, ...limits]); // "m"."m"
  sec(3, [2, 0, 1]);
  if (memory === 'defined') sec(5, [1, ...limits]);
  sec(7, [2, 4, ...Buffer.from('size'), 0, 0, 4, ...Buffer.from('grow'), 0, 1]);
  sec(10, [2, 4, 0, 0x3f, 0x00, 0x0b, 6, 0, 0x20, 0x00, 0x40, 0x00, 0x0b]);
  return new Uint8Array(bytes);
}

function instantiate(bytes: Uint8Array) {
  const r = rewriteWasiModule(bytes);
  const memory = new WebAssembly.Memory({ initial: r.totalPages, maximum: r.totalPages, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(r.bytes), { [r.memoryImport.module]: { [r.memoryImport.name]: memory } });
  return { r, memory, size: inst.exports['size'] as () => number, grow: inst.exports['grow'] as (n: number) => number };
}

test('rewrite: a defined memory becomes an imported shared one; the program sees its own size and maximum', () => {
  const { r, memory, size, grow } = instantiate(memoryModule('defined', 1, 3));
  assert.is(r.programMaxPages, 3);
  assert.is(r.totalPages, 3 + HOST_REGION_PAGES);
  assert.is(r.hostRegion, 3 * 65536);
  assert.is(memory.buffer.byteLength, (3 + HOST_REGION_PAGES) * 65536);
  assert.is(size(), 1);
  assert.is(grow(1), 1);
  assert.is(size(), 2);
  assert.is(grow(2), -1, 'past the maximum');
  assert.is(grow(1), 2);
  assert.is(grow(0), 3);
  assert.is(grow(-1), -1, 'a huge unsigned count');
});

test('rewrite: no maximum gets the default; an imported unshared memory is made shared', () => {
  const a = instantiate(memoryModule('defined', 2, null));
  assert.is(a.r.programMaxPages, DEFAULT_PROGRAM_MAX_PAGES);
  assert.is(a.size(), 2);
  const b = instantiate(memoryModule('imported', 1, 4));
  assert.equal(b.r.memoryImport, { module: 'm', name: 'm' });
  assert.is(b.size(), 1);
  assert.is(b.grow(3), 1);
  assert.is(b.grow(1), -1);
});

test('programKind: flexvm guests, components and WASI programs told apart by their bytes', () => {
  assert.is(programKind(memoryModule('defined', 1, 2)), 'wasi');
  const flexvm = [0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0, 2, 16, 1, 6, ...Buffer.from('flexvm'), 4, ...Buffer.from('sync'), 0x02, 0x00, 0x01];
  assert.is(programKind(new Uint8Array(flexvm)), 'flexvm');
  assert.is(programKind(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])), 'component');
});

test('rewrite results are cached by content hash', async () => {
  const bytes = memoryModule('defined', 1, 5);
  const a = await prepareWasiProgram(bytes);
  const name = `${contentKey(`wasi-rewrite-${REWRITE_VERSION}`, bytes)}.wasm`;
  assert.ok(readdirSync(join(tmp, 'cache', 'wasi-rewrite')).includes(name));
  assert.ok(Buffer.from(readFileSync(join(tmp, 'cache', 'wasi-rewrite', name))).equals(Buffer.from(a.bytes)));
  assert.is(a.layout.programMaxPages, 5);
});

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

async function runProbe(kernel: 'os' | 'virtual', mode: 'exceptionless' | 'sync', threads: number): Promise<Ran> {
  const dir = mkdtempSync(join(tmp, 'sb-'));
  const vm = await VM.create({ kernel, syscallThreads: threads, mode });
  let stdout = '';
  let stderr = '';
  try {
    const r = await vm.run(buildC('preview1'), {
      args: ['one', 'two words'],
      env: { PROBE: '1' },
      dirs: [`${dir}::/sandbox`],
      stdout: (d) => (stdout += Buffer.from(d).toString()),
      stderr: (d) => (stderr += Buffer.from(d).toString()),
    });
    return { status: r.status, stdout, stderr: stderr + (r.message ?? '') };
  } finally {
    await vm.close();
  }
}

for (const kernel of ['virtual', 'os'] as const) {
  for (const mode of ['exceptionless', 'sync'] as const) {
    for (const threads of [1, 2]) {
      ctest(`preview 1 probe: every check passes (${kernel} kernel, ${mode}, ${threads} syscall thread${threads > 1 ? 's' : ''})`, async () => {
        const r = await runProbe(kernel, mode, threads);
        const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
        assert.equal(failures, [], r.stderr);
        assert.match(r.stdout, /passed 164 failed 0/);
        assert.is(r.status, 0);
      });
    }
  }
}

/**
 * Where node:wasi (uvwasi) answers differently, and why flexvm follows the specification instead.
 * Each entry is a check of the probe that fails under node:wasi.
 */
/**
 * Checks whose outcome under node:wasi depends on timing, so they are compared with nothing: its
 * poll_oneoff waits on a libuv timer counted from the loop's cached time, which can fire up to a
 * millisecond early (a clean-clone CI run saw 1.23 ms for a 2 ms clock subscription). flexvm's own
 * check of the same wait runs, and must pass, in every other probe test.
 */
const NODE_WASI_TIMING: Record<string, string> = {
  'poll_oneoff clock waited': 'libuv timers count from the cached loop time: an early wake-up of up to 1 ms',
};

const NODE_WASI_DIFFERS: Record<string, string> = {
  'clock_time_get bad pointer': 'node:wasi answers EOVERFLOW for an out-of-bounds pointer; the witx errno for a bad address is EFAULT',
  'random_get bad pointer': 'EOVERFLOW again instead of EFAULT',
  'fd_write bad iovec': 'EOVERFLOW again instead of EFAULT',
  'path_open bad path pointer': 'EOVERFLOW again instead of EFAULT',
  'fd_prestat_dir_name short buffer': 'node:wasi answers ENOBUFS; wasmtime and flexvm ENAMETOOLONG (the name does not fit)',
  'fd_prestat_get stdin': 'node:wasi answers EINVAL for a descriptor that is not a preopen; it is a bad descriptor for this call (EBADF), as wasi-libc expects when it scans for preopens',
  'fd_allocate zero length': 'posix_fallocate (which fd_allocate mirrors) refuses a zero length with EINVAL; node:wasi accepts it',
  'fd_fdstat_get append': 'node:wasi does not apply fd_fdstat_set_flags(APPEND) to the open file',
  'fd_fdstat_set_flags bad flags': 'node:wasi ignores flag bits the specification does not define; flexvm refuses them (EINVAL)',
  'fd_readdir entries': 'node:wasi leaves out "." and ".."; preview 1 lists them, as the directory has them',
  'fd_readdir names': 'the same: "." and ".." missing under node:wasi',
  'poll_oneoff bad fd event': 'node:wasi reports no event for a subscription on a bad descriptor; the specification reports it with error EBADF',
  'poll_oneoff fd_write': 'node:wasi fails the whole poll with EPERM when a subscribed descriptor is a regular file (its stdout is a file in this test: libuv cannot poll files); Linux poll, and flexvm, report a file as always ready',
  'poll_oneoff fd_write userdata': 'follows from the failed poll above',
  'path_open from a file fd': 'node:wasi checks rights before the descriptor type (ENOTCAPABLE); wasmtime and flexvm say ENOTDIR',
  'fd_readdir on a file': 'the same order: ENOTDIR before ENOTCAPABLE',
  'path_open the symlink nofollow': 'node:wasi opens the symlink even without LOOKUPFLAGS_SYMLINK_FOLLOW; not following a final symlink is ELOOP (O_NOFOLLOW), as wasmtime answers',
  'path_readlink short buffer': 'node:wasi answers ENOBUFS when the target does not fit; flexvm gives its first bytes, as readlink(2) and wasmtime do (wasi-libc\'s readlink passes the result through)',
  'path_readlink short buffer used': 'follows from the ENOBUFS above',
  'path_symlink leading out': 'node:wasi refuses to create a symlink whose target climbs out of the preopen; the target is only a string until it is followed, so flexvm stores it as given (as Linux does) and refuses to follow it out of the grant',
  'path_unlink_file out': 'follows from the symlink node:wasi did not create',
};

ctest('the probe under node:wasi: the same lines but for the documented differences', async () => {
  const dir = mkdtempSync(join(tmp, 'node-'));
  const outFile = join(tmp, 'node-stdout.txt');
  const fd = openSync(outFile, 'w');
  const wasi = new WASI({ version: 'preview1', args: ['preview1', 'one', 'two words'], env: { PROBE: '1' }, preopens: { '/sandbox': dir }, stdout: fd, returnOnExit: true });
  const module = await WebAssembly.compile(readFileSync(buildC('preview1')));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
  const nodeStatus = wasi.start(instance);
  closeSync(fd);
  const node = readFileSync(outFile, 'utf8').split('\n');
  const ours = (await runProbe('os', 'exceptionless', 1)).stdout.split('\n');
  const nameOf = (l: string) => l.replace(/^(ok|FAIL) /, '').replace(/:.*$/, '');
  const ourByName = new Map(ours.filter((l) => /^(ok|FAIL) /.test(l)).map((l) => [nameOf(l), l]));
  const unexplained: string[] = [];
  for (const l of node.filter((x) => /^(ok|FAIL) /.test(x))) {
    const name = nameOf(l);
    // A wait node:wasi may end early, where flexvm's must not: not compared either way.
    if (NODE_WASI_TIMING[name]) continue;
    const same = ourByName.get(name) === l;
    if (!same && !NODE_WASI_DIFFERS[name]) unexplained.push(`${l} | flexvm: ${ourByName.get(name)}`);
    if (same && NODE_WASI_DIFFERS[name]) unexplained.push(`${name} is listed as different but is not`);
  }
  assert.equal(unexplained, []);
  assert.is(nodeStatus, Object.keys(NODE_WASI_DIFFERS).length > 0 ? 1 : 0);
});

function cli(args: string[], timeout = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

test('an AssemblyScript wasi-shim program (own memory, TLSF heap grown to 8 MiB) runs on both kernels', async () => {
  const wasm = buildAs('hello');
  for (const kernel of ['os', 'virtual']) {
    const r = await cli(['run', wasm, '--kernel', kernel, '--env', 'GREETING=hi', '--', 'p', 'q']);
    assert.is(r.stdout, 'args p,q\nenv hi\ntotal 8890 last 7\n', r.stderr);
    assert.is(r.status, 5);
  }
});

test('--max-memory caps a WASI program: one that may grow past it is refused clearly, not given less', async () => {
  // Its memory is allocated at full size (its maximum, 1 GiB when undeclared, plus the host region).
  const wasm = buildAs('hello');
  const refused = await cli(['run', '--kernel', 'virtual', '--max-memory', '512M', wasm]);
  assert.is(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /WASI program that may grow to 1048576 KiB of memory, more than the limit of 524288 KiB \(--max-memory\)/);
  assert.is(refused.stdout, '');
  const ran = await cli(['run', '--kernel', 'virtual', '--max-memory', '1G', wasm, 'p']);
  assert.is(ran.status, 5, ran.stderr);
});

ctest('--stats and --trace see a WASI program\'s calls (they are syscall entries)', async () => {
  const dir = mkdtempSync(join(tmp, 'st-'));
  const r = await cli(['run', buildC('preview1'), '--dir', `${dir}::/sandbox`, '--env', 'PROBE=1', '--stats', '--trace', '--', 'one', 'two words']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /openat\(/);
  assert.match(r.stderr, /getdents64\s+\d+ submitted/);
  assert.match(r.stderr, /flexvm statistics for preview1/);
});

ctest('CLI: wasmer\'s --mapdir GUEST::HOST names the preopen as the program sees it', async () => {
  const dir = mkdtempSync(join(tmp, 'map-'));
  const r = await cli(['run', buildC('preview1'), '--mapdir', `/sandbox::${dir}`, '--env', 'PROBE=1', '--kernel', 'virtual', '--', 'one', 'two words']);
  assert.match(r.stdout, /passed 164 failed 0/, r.stderr);
  assert.is(r.status, 0);
  const bad = await cli(['run', '--mapdir', 'nothing', buildC('preview1')]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--mapdir expects GUEST::HOST/);
});

ctest('the host\'s standard input reaches a WASI program, from a pipe and from a file', async () => {
  const wasm = buildC('cat');
  const text = 'line one\nline two\n'.repeat(300);
  const input = join(tmp, 'stdin.txt');
  writeFileSync(input, text);
  for (const kernel of ['os', 'virtual']) {
    const piped = spawnSync('sh', ['-c', `cat "$1" | "$2" "$3" run "$4" --kernel ${kernel}`, 'sh', input, process.execPath, CLI, wasm], { encoding: 'utf8', timeout: 30_000 });
    assert.is(piped.stdout, text, piped.stderr);
    assert.match(piped.stderr, new RegExp(`read ${text.length} bytes`));
    const fd = openSync(input, 'r');
    const redirected = spawnSync(process.execPath, [CLI, 'run', '--kernel', kernel, wasm], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
    closeSync(fd);
    assert.is(redirected.stdout, text, redirected.stderr);
    assert.is(redirected.status, 0);
  }
  // A socket (how test harnesses and supervisors connect a child) is not read: end of file at once.
  const r = await cli(['run', wasm]);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /read 0 bytes/);
});

ctest('symlinks in a preopen (os kernel, --dir HOST::.): inside followed; leading out, dangling and looping refused', async () => {
  const dir = mkdtempSync(join(tmp, 'links-'));
  writeFileSync(join(dir, 'a.txt'), 'hello\n');
  mkdirSync(join(dir, 'sub'));
  symlinkSync('a.txt', join(dir, 'link-in'));
  symlinkSync('/etc/hostname', join(dir, 'link-out'));
  symlinkSync('nowhere', join(dir, 'dangling'));
  symlinkSync('loop', join(dir, 'loop'));
  const r = await cli(['run', '--dir', `${dir}::.`, buildC('symlinks')]);
  assert.is(r.status, 0, r.stderr);
  assert.is(
    r.stdout,
    [
      'link-in: opened, reads hello',
      'sub/../link-in: opened, reads hello',
      'link-out: Permission denied',
      'dangling: No such file or directory',
      'loop: Symbolic link loop',
      'entries 8',
      '',
    ].join('\n'),
  );
});

test('CLI: a WASI program in epoll mode and a bad --listen are refused clearly', async () => {
  const wasm = buildAs('hello');
  const a = await cli(['run', '--mode', 'epoll', wasm]);
  assert.is(a.status, 1);
  assert.match(a.stderr, /WASI program: run it in exceptionless or sync mode/);
  const b = await cli(['run', '--listen', 'localhost', wasm]);
  assert.is(b.status, 2);
  assert.match(b.stderr, /--listen/);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

ctest('sockets: a program serves a connection on the --listen grant (sock_accept, sock_recv, sock_send, sock_shutdown)', async () => {
  const wasm = buildC('sock-echo');
  for (const mode of ['exceptionless', 'sync']) {
    const port = await freePort();
    const server = cli(['run', '--listen', `127.0.0.1:${port}`, '--mode', mode, wasm], 20_000);
    let reply = '';
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        reply = await new Promise<string>((resolve, reject) => {
          let got = '';
          const s = connect(port, '127.0.0.1', () => {
            s.write('hello\n');
            setTimeout(() => s.end(), 200);
          });
          s.on('data', (d) => (got += d));
          s.on('close', () => resolve(got));
          s.on('error', reject);
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const r = await server;
    assert.is(reply, 'HELLO\nBYE\n');
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'accepted\nshutdown 0\nbad shutdown 28\naccept on a connection 76\nrecv on a file 57\n');
  }
});

test.run();
