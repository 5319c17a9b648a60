// End to end: the flexvm command line (build/host/cli/main.js, what dist/cli.js bundles) run as a
// child process: help and version, running guests with arguments after --, companions (--with),
// modes and syscall threads, statistics (--stats, --stats-json), tracing, the demo, resource limits
// (--max-fds, --max-pending, with tests/guests/limits.wasm), and clear errors with their exit
// statuses (2 for usage errors, 1 for guests that cannot be loaded); the guest's own exit status
// passes through.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, guestPath } from './helpers/e2e.js';

const CLI = join(ROOT, 'build/host/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function flexvm(...args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

function expectCode(r: Ran, code: number, what: string): void {
  assert.is(r.code, code, `${what}: exit status\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/** A file in the temporary folder. */
function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

const EXIT = guestPath('tests/guests/exit');
const HELLO = guestPath('tests/guests/hello');
const SERVER = guestPath('examples/echo/server');
const CLIENT = guestPath('examples/echo/client');
const LIMITS = guestPath('tests/guests/limits');

test('--help prints the usage and exits 0; no command prints it and exits 2', async () => {
  const [help, short, none, runHelp] = await Promise.all([flexvm('--help'), flexvm('-h'), flexvm(), flexvm('run', '--help')]);
  for (const [r, code] of [[help, 0], [short, 0], [none, 2], [runHelp, 0]] as const) {
    expectCode(r, code, 'usage');
    assert.match(r.stdout, /^Usage:$/m);
    for (const option of ['--syscall-threads N', '--mode MODE', '--with', '--stats-json FILE', '--trace', '--max-fds N', '--max-pending N', 'flexvm demo']) assert.ok(r.stdout.includes(option), option);
  }
});

test('a reader that goes away ends the output quietly (model figure1 | head): exit 0, no EPIPE trace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, 'model', 'figure1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Read the first chunk, then close our end, as `head -1` does.
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.is(code, 0, err);
  assert.not.match(err, /EPIPE|Unhandled/);
});

test('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await flexvm('--version');
  expectCode(r, 0, '--version');
  assert.is(r.stdout, `flexvm ${version}\n`);
});

test('run passes the arguments after -- to the guest and its exit status back', async () => {
  const [nine, zero] = await Promise.all([
    flexvm('run', EXIT, '--', '--status', '9', 'a', '--b', 'c d'),
    flexvm('run', EXIT, '--', 'plain'),
  ]);
  expectCode(nine, 9, 'guest status 9');
  assert.ok(nine.stdout.startsWith('args: --status 9 a --b c d\n'), nine.stdout);
  assert.ok(nine.stdout.includes('loop status: 0\n'));
  expectCode(zero, 0, 'guest status 0');
  assert.ok(zero.stdout.startsWith('args: plain\n'), zero.stdout);
});

test('everything after the module is the guest\'s, as in wasmtime and wasmer; options go before it', async () => {
  const [dashHelp, help, newForm, oldForm, dashFirst] = await Promise.all([
    flexvm('run', EXIT, '--', '--help'),
    flexvm('run', EXIT, '--help', '--stats'),
    flexvm('run', '--stats', '--mode', 'sync', EXIT, '--status', '3', '--', 'x'),
    flexvm('run', EXIT, '--stats', '--', '--status', '4'),
    flexvm('run', '--mode', 'sync', '--', EXIT, '--status', '6'),
  ]);
  expectCode(dashHelp, 0, 'run x.wasm -- --help');
  assert.ok(dashHelp.stdout.startsWith('args: --help\n'), dashHelp.stdout);
  assert.not.match(dashHelp.stdout, /Usage:/);
  expectCode(help, 0, 'run x.wasm --help --stats');
  assert.ok(help.stdout.startsWith('args: --help --stats\n'), help.stdout);
  assert.not.match(help.stderr, /flexvm statistics/, '--stats after the module is the guest\'s');
  expectCode(newForm, 3, 'run [options] x.wasm ARGS');
  assert.ok(newForm.stdout.startsWith('args: --status 3 -- x\n'), newForm.stdout);
  assert.match(newForm.stderr, /flexvm statistics for exit .*\(sync mode/);
  expectCode(oldForm, 4, 'run x.wasm [options] -- ARGS (the older form)');
  assert.match(oldForm.stderr, /flexvm statistics for exit/);
  expectCode(dashFirst, 6, 'run [options] -- x.wasm ARGS');
});

test('run --mode and --syscall-threads choose how calls are made; --stats and --stats-json report it', async () => {
  const json = join(tmp, 'stats.json');
  const configs = [['exceptionless', '1'], ['sync', '2'], ['epoll', '4']] as const;
  const rs = await Promise.all(configs.map(([mode, threads]) => flexvm('run', EXIT, '--mode', mode, '--syscall-threads', threads, '--stats', '--', '--status', '5')));
  rs.forEach((r, i) => {
    const [mode, threads] = configs[i]!;
    expectCode(r, 5, `${mode} ${threads}`);
    // An epoll-mode guest runs beside the kernel on syscall thread 0: one thread serves it.
    const serving = mode === 'epoll' ? '1 syscall thread' : `${threads} syscall thread${threads === '1' ? '' : 's'}`;
    assert.ok(r.stderr.includes(`(${mode} mode, ${serving})`), r.stderr);
    assert.match(r.stderr, /flexvm statistics for exit \(pid \d+\)/);
    assert.match(r.stderr, /^ {4}getpid +1 submitted +1 completed$/m);
  });
  const r = await flexvm('run', EXIT, '--mode', 'sync', '--syscall-threads', '2', '--stats-json', json, '--', '--status', '4');
  expectCode(r, 4, '--stats-json');
  const stats = JSON.parse(readFileSync(json, 'utf8')) as { name: string; status: number; stats: { mode: string; threads: number; bySyscall: Record<string, { completed: number }> } }[];
  assert.is(stats.length, 1);
  assert.is(stats[0]!.name, 'exit');
  assert.is(stats[0]!.status, 4);
  assert.is(stats[0]!.stats.mode, 'sync');
  assert.is(stats[0]!.stats.threads, 2);
  assert.is(stats[0]!.stats.bySyscall['getpid']!.completed, 1);
});

test('run --with starts a companion guest in the same VM (echo server and client), stopped at the end', async () => {
  const json = join(tmp, 'with.json');
  const r = await flexvm('run', CLIENT, '--kernel', 'virtual', '--with', `${SERVER} --port 7300`, '--syscall-threads', '2', '--stats-json', json, '--', '--port', '7300', '--conns', '3', '--messages', '20');
  expectCode(r, 0, '--with');
  assert.ok(r.stdout.includes('echo-client: 3 connections x 20 messages of 64 bytes echoed (3840 bytes)'), r.stdout);
  assert.match(r.stderr, /echo-server: listening on 127\.0\.0\.1:7300/);
  const stats = JSON.parse(readFileSync(json, 'utf8')) as { name: string; status: number }[];
  assert.equal(stats.map((s) => [s.name, s.status]), [['client', 0], ['server', 130]]);
});

test('run --trace shows paths, socket addresses, flags and structures by name, as strace does', async () => {
  const r = await flexvm('run', '--trace', '--kernel', 'virtual', '--with', `${SERVER} --port 7311`, CLIENT, '--port', '7311', '--conns', '1', '--messages', '1');
  expectCode(r, 0, '--trace echo');
  assert.match(r.stderr, /socket\(AF_INET, SOCK_STREAM(\|SOCK_CLOEXEC)?, 0\) = \d+/);
  assert.match(r.stderr, /bind\(\d+, \{sa_family=AF_INET, sin_port=htons\(7311\), sin_addr=inet_addr\("127\.0\.0\.1"\)\}, 16\) = 0/);
  assert.match(r.stderr, /connect\(\d+, \{sa_family=AF_INET, sin_port=htons\(7311\), sin_addr=inet_addr\("127\.0\.0\.1"\)\}, 16\) = /);
  assert.match(r.stderr, /setsockopt\(\d+, SOL_SOCKET, SO_REUSEADDR, \[1\], 4\) = 0/);
  const fs = await flexvm('run', '--trace', '--kernel', 'virtual', guestPath('tests/guests/fs-probe'), 'write:/f.txt:hi');
  assert.match(fs.stderr, /openat\(AT_FDCWD, "[^"]+", O_[A-Z]+(\|O_[A-Z]+)*(, 0[0-7]+)?\) = /, fs.stderr.slice(0, 2000));
});

test('run --trace prints every system call and its result', async () => {
  const r = await flexvm('run', '--trace', HELLO);
  expectCode(r, 0, '--trace');
  assert.is(r.stdout, 'hello from the guest\n');
  assert.match(r.stderr, /^\[\d+\] getpid\(\) = \d+ \(thread 0\)$/m);
  // Buffers and strings as strace shows them, not raw pointers.
  assert.match(r.stderr, /^\[\d+\] write\(1, "hello from the guest\\n", 21\) = 21 \(thread 0\)$/m);
});

test('demo runs the echo server and client and prints statistics', async () => {
  const [plain, sync] = await Promise.all([flexvm('demo'), flexvm('demo', '--mode', 'sync', '--syscall-threads', '2', '--', '--conns', '2', '--messages', '50')]);
  expectCode(plain, 0, 'demo');
  assert.ok(plain.stdout.includes('echo-client: 4 connections x 1000 messages of 64 bytes echoed (256000 bytes)'), plain.stdout);
  assert.match(plain.stderr, /flexvm statistics for client \(pid \d+\) \(exceptionless mode, 1 syscall thread\)/);
  assert.match(plain.stderr, /flexvm statistics for server/);
  expectCode(sync, 0, 'demo --mode sync');
  assert.ok(sync.stdout.includes('echo-client: 2 connections x 50 messages'), sync.stdout);
  assert.match(sync.stderr, /\(sync mode, 2 syscall threads\)/);
});

test('run --max-fds: descriptors past the limit fail with -EMFILE, on both kernels and in every mode', async () => {
  // 8 descriptors: the 3 standard streams, then sockets (and, in the sync and epoll modes, the
  // reactor's epoll set) until socket() fails.
  const configs = [['os', 'exceptionless', 5], ['os', 'sync', 4], ['os', 'epoll', 4], ['virtual', 'exceptionless', 5]] as const;
  const rs = await Promise.all(configs.map(([kernel, mode]) => flexvm('run', LIMITS, '--kernel', kernel, '--mode', mode, '--max-fds', '8', '--', '--sockets', '64')));
  rs.forEach((r, i) => {
    const [kernel, mode, sockets] = configs[i]!;
    expectCode(r, 0, `${kernel} ${mode}`);
    assert.is(r.stdout, `descriptors ${sockets} -24\n`, `${kernel} ${mode}`);
  });
  // Without the option: the default limit (65536) is far away.
  const plain = await flexvm('run', LIMITS, '--', '--sockets', '64');
  expectCode(plain, 0, 'default limit');
  assert.is(plain.stdout, 'descriptors 64 0\n');
});

test('run --max-pending: waiting calls past the limit complete at once with -EAGAIN; close still runs', async () => {
  // Eight sleeps submitted together: three wait their 300 ms, five are refused; a close submitted
  // after them runs (it only gives back). The sync and epoll modes sleep with timers in the guest
  // (libflexsc's reactor), so only the exceptionless mode is limited here.
  const [os, virtual, plain] = await Promise.all([
    flexvm('run', LIMITS, '--max-pending', '3', '--', '--sleeps', '8', '--sleep-ms', '300', '--close'),
    flexvm('run', LIMITS, '--kernel', 'virtual', '--max-pending', '3', '--', '--sleeps', '8', '--sleep-ms', '300', '--close'),
    flexvm('run', LIMITS, '--', '--sleeps', '8', '--sleep-ms', '300'),
  ]);
  for (const [r, what] of [[os, 'os'], [virtual, 'virtual']] as const) {
    expectCode(r, 0, what);
    assert.is(r.stdout, 'close 0\nsleeps 3 5 0\n', what);
  }
  expectCode(plain, 0, 'default limit');
  assert.is(plain.stdout, 'sleeps 8 0 0\n');
});

test('run --max-pending is per guest: the sleeps spread over 2 and 4 syscall threads share one limit', async () => {
  // libflexsc spreads calls without a descriptor over the threads round-robin; on the os kernel each
  // thread runs its own, so a per-thread count would let 3 per thread sleep (6 or 8 of 8). The
  // sleeps are long because a thread that is slow to claim its sleep (a loaded machine) would find a
  // place freed by a sleep that already ended and let a fourth one sleep.
  const runs = await Promise.all(
    (['os', 'virtual'] as const).flatMap((kernel) =>
      ['2', '4'].map(async (threads) => ({
        what: `${kernel}, ${threads} threads`,
        r: await flexvm('run', LIMITS, '--kernel', kernel, '--syscall-threads', threads, '--max-pending', '3', '--', '--sleeps', '8', '--sleep-ms', '1500', '--close'),
      })),
    ),
  );
  for (const { what, r } of runs) {
    expectCode(r, 0, what);
    assert.is(r.stdout, 'close 0\nsleeps 3 5 0\n', what);
  }
});

test('a guest that traps: status 134 and the message on standard error', async () => {
  const r = await flexvm('run', guestPath('tests/guests/crash'), '--', '--how', 'oob');
  expectCode(r, 134, 'trap');
  assert.match(r.stderr, /flexvm: crash \(pid \d+\) exited with status 134: guest trapped: memory access out of bounds/);
});

/**
 * A flexvm guest's imports: `flexvm.register` (which makes it a flexvm guest rather than a WASI
 * program) and, unless `memory` is null, a memory, shared or not (limits 1..1).
 */
function memoryModule(shared: boolean, memory = true): Uint8Array {
  const name = (s: string): number[] => [s.length, ...new TextEncoder().encode(s)];
  const types = [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]; // (i32) -> i32
  const register = [...name('flexvm'), ...name('register'), 0x00, 0x00];
  const mem = [...name('env'), ...name('memory'), 0x02, shared ? 0x03 : 0x01, 0x01, 0x01];
  const imports = memory ? [0x02, ...register, ...mem] : [0x01, ...register];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, types.length, ...types, 0x02, imports.length, ...imports]);
}

test('guests that cannot be loaded: exit 1 with a clear message', async () => {
  const cases: [string[], RegExp][] = [
    [['run', join(tmp, 'missing.wasm')], /flexvm: error: .*missing\.wasm: no such file/],
    [['run', file('text.wasm', 'hello, not wasm\n')], /flexvm: error: .*text\.wasm is not a WebAssembly module \(bad magic number\)/],
    [['run', file('truncated.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9]))], /flexvm: error: .*truncated\.wasm is not valid WebAssembly/],
    [['run', file('nomemory.wasm', memoryModule(true, false))], /flexvm: error: .*nomemory\.wasm does not import a memory; flexvm guests import a shared memory/],
    [['run', file('component.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))], /flexvm: error: .*component\.wasm is a component that cannot be run/],
    [['run', file('unshared.wasm', memoryModule(false))], /flexvm: error: .*unshared\.wasm imports a memory that is not shared/],
    [['run', '--with', join(tmp, 'missing-companion.wasm'), HELLO], /flexvm: error: .*missing-companion\.wasm: no such file/],
  ];
  const rs = await Promise.all(cases.map(([args]) => flexvm(...args)));
  rs.forEach((r, i) => {
    const [args, message] = cases[i]!;
    expectCode(r, 1, args.join(' '));
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

test('a module that links but has no _start: a status and a message, not a crash', async () => {
  const r = await flexvm('run', file('nostart.wasm', memoryModule(true)));
  assert.ok(r.code !== 0 && r.code !== 1 && r.code !== 2, `status ${r.code}`);
  assert.match(r.stderr, /exports no _start function/);
});

test('usage errors: exit 2 with the reason and a pointer to --help', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '--bogus', HELLO], /Unknown option '--bogus'/],
    [['run', '--mode', 'fast', HELLO], /unknown mode "fast" \(choose: exceptionless, sync, epoll\)/],
    [['run', HELLO, '--mode', '--'], /Option '--mode <value>' argument missing/],
    [['run', '--syscall-threads', '0', HELLO], /--syscall-threads must be an integer from 1 to 64, got "0"/],
    [['run', '--syscall-threads', '65', HELLO], /--syscall-threads must be an integer from 1 to 64, got "65"/],
    [['run', '--syscall-threads', 'two', HELLO], /--syscall-threads must be an integer from 1 to 64, got "two"/],
    [['run', HELLO, '--syscall-threads', '1.5', '--'], /--syscall-threads must be an integer from 1 to 64, got "1\.5"/],
    [['run'], /missing GUEST\.wasm/],
    [['run', '--stats'], /missing GUEST\.wasm/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['demo', '--mode', 'turbo'], /unknown mode "turbo"/],
    [['demo', 'extra'], /unexpected argument "extra"/],
    [['run', '--max-fds', '0', HELLO], /--max-fds must be an integer from 1 to 1048576, got "0"/],
    [['run', '--max-fds=-3', HELLO], /--max-fds must be an integer from 1 to 1048576, got "-3"/],
    [['run', '--max-fds', '2.5', HELLO], /--max-fds must be an integer from 1 to 1048576, got "2\.5"/],
    [['run', '--max-fds', '1048577', HELLO], /--max-fds must be an integer from 1 to 1048576, got "1048577"/],
    [['run', HELLO, '--max-fds', '--'], /Option '--max-fds <value>' argument missing/],
    [['run', '--max-pending', 'many', HELLO], /--max-pending must be an integer from 1 to 1048576, got "many"/],
    [['run', '--dir', join(tmp, 'no-such-dir'), '--syscall-threads', '4', HELLO], /--dir ".*no-such-dir": .*no-such-dir does not exist/],
    [['run', '--dir', `${tmp}:/data:rx`, HELLO], /--dir ".*:\/data:rx": unknown suffix ":rx"/],
    [['run', '--dir', `${tmp}:data`, HELLO], /unknown suffix ":data"/],
    [['run', '--dir', `${tmp}:data/x`, HELLO], /the guest path must be absolute, got "data\/x"/],
    [['run', '--dir', `${join(tmp, 'stats.json')}`, HELLO], /is not a directory/],
    [['run', '--mapdir', tmp, HELLO], /--mapdir expects GUEST::HOST/],
    [['run', '--mapdir', `/data::${join(tmp, 'gone')}`, HELLO], /gone does not exist/],
    [['run', '--env', '=x', HELLO], /--env expects KEY=VALUE or KEY/],
    [['demo', '--max-pending', '0'], /--max-pending must be an integer from 1 to 1048576, got "0"/],
  ];
  const rs = await Promise.all(cases.map(([args]) => flexvm(...args)));
  rs.forEach((r, i) => {
    const [args, message] = cases[i]!;
    expectCode(r, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.is(r.stderr.split('\n').filter((l) => l.startsWith('flexvm:')).length, 1, `said once: ${r.stderr}`);
    assert.match(r.stderr, /Run 'flexvm --help' for usage\./);
    assert.is(r.stdout, '');
  });
});

test('the example servers refuse unknown options and malformed numbers (exit 2) instead of using defaults', async () => {
  const cases: [string[], RegExp][] = [
    [['run', SERVER, '--prot', '7301'], /echo-server: unknown option --prot/],
    [['run', SERVER, '--port', '73x'], /echo-server: --port must be an integer from 0 to 65535, got "73x"/],
    [['run', SERVER, '--port', '70000'], /echo-server: --port must be an integer from 0 to 65535, got "70000"/],
    [['run', SERVER, '--port'], /echo-server: --port needs a value/],
    [['run', SERVER, 'stray'], /echo-server: unexpected argument "stray"/],
    [['run', CLIENT, '--conns', '-1'], /echo-client: --conns must be an integer from 1/],
    [['run', guestPath('examples/httpd/server'), '--idle-ms', '5s'], /httpd: --idle-ms must be an integer from 0/],
  ];
  const rs = await Promise.all(cases.map(([args]) => flexvm(...args)));
  rs.forEach((r, i) => {
    const [args, message] = cases[i]!;
    expectCode(r, 2, args.join(' '));
    assert.match(r.stderr, message);
  });
});

test.run();
