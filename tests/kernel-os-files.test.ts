import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EACCES,
  AF_INET,
  AT_FDCWD,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  SEEK_CUR,
  SEEK_SET,
  SOCK_STREAM,
  SYS_accept4,
  SYS_bind,
  SYS_getsockname,
  SYS_listen,
  SYS_lseek,
  SYS_openat,
  SYS_pread64,
  SYS_sendfile,
  SYS_socket,
} from '../host/abi/v1.js';
import { OsKernel, type OsProcess } from '../host/kernel/os/index.js';
import { Fixtures, hostFdsUnder } from './helpers/kernel-fixtures.js';
import { now, PendingCall, settled, until, type TestProcess } from './helpers/kernel-harness.js';

type P = TestProcess<OsProcess>;


/**
 * The os kernel's own file cases (the common ones are in kernel-files.test.ts, which runs these
 * three settings too): FIFOs refused, sendfile's host-side buffering, and when file calls go to the
 * threadpool. The same tests in three settings: on a syscall thread with the threadpool (asynchronous fs,
 * calls complete from the event loop), on a syscall thread with fileIo 'auto' (the default: file
 * calls complete inside syscall() until the test makes a socket), and colocated (always inside).
 */
const SETTINGS = [
  { name: 'os files (syscall thread, threadpool)', colocated: false, fileIo: 'threadpool' },
  { name: 'os files (syscall thread, auto: synchronous until a socket)', colocated: false, fileIo: 'auto' },
  { name: 'os files (colocated, synchronous)', colocated: true, fileIo: 'auto' },
] as const;
for (const { name, colocated, fileIo } of SETTINGS) {
  const fx = new Fixtures<OsProcess>({ close: true });
  const t = fx.guard(suite(name));

  /** A kernel, a temp directory granted at /data, seeded with `files`. */
  function setup(files: Record<string, string> = {}, maxFds?: number) {
    const dir = fx.tempDir('flexvm-os-files-');
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const k = new OsKernel({ kind: 'os', fileIo }, { thread: 0, threadCount: 1, colocated, log: () => {} });
    kernel = k;
    const h = fx.harness(k);
    const p = h.spawn({ grants: [{ hostPath: dir, guestPath: '/data' }], ...(maxFds ? { limits: { maxFds } } : {}) });
    return { dir, h, p };
  }

  /** The kernel of the running test. */
  let kernel: OsKernel | null = null;

  /** A call's result: immediate while file calls are synchronous (asserted), awaited otherwise. */
  async function run(r: number | PendingCall): Promise<number> {
    if (kernel?.fsd.synchronous) return now(r);
    return settled(r);
  }

  const sys = (p: P, nr: number, ...a: number[]) => run(p.sys(nr, ...a));
  const open = (p: P, file: string, flags: number, mode = 0o666, dirfd = AT_FDCWD) => sys(p, SYS_openat, dirfd, p.cstr(file), flags, mode);

  t('a FIFO is refused with EACCES, at once (opening it cannot block), and leaks no descriptor', async () => {
    const { p, dir } = setup();
    const made = spawnSync('mkfifo', [path.join(dir, 'fifo')]);
    assert.is(made.status, 0, `precondition: mkfifo: ${made.stderr?.toString() ?? made.error?.message}`);
    assert.is(await open(p, '/data/fifo', O_RDONLY), -EACCES);
    assert.is(await open(p, '/data/fifo', O_RDWR), -EACCES);
    // Opened for writing without a reader, the host's non-blocking open itself fails (ENXIO): the same
    // refusal, the same answer.
    assert.is(await open(p, '/data/fifo', O_WRONLY), -EACCES);
    assert.is(hostFdsUnder(dir), 0);
  });

  t('sendfile waits for room while the client does not read, and can be cancelled', async () => {
    const { p, dir } = setup();
    const size = 16 << 20;
    fs.writeFileSync(path.join(dir, 'huge.bin'), Buffer.alloc(size, 0x42));
    const lfd = now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0));
    now(p.sys(SYS_bind, lfd, p.sockaddr(0), 16));
    now(p.sys(SYS_listen, lfd, 4));
    const addr = p.alloc(16);
    now(p.sys(SYS_getsockname, lfd, addr, p.int(16)));
    const c = net.connect({ port: p.readSockaddr(addr).port, host: '127.0.0.1' });
    fx.peer(c);
    c.on('error', () => {});
    c.pause();
    const sfd = await settled(p.sys(SYS_accept4, lfd, 0, 0, 0));
    const fd = await open(p, '/data/huge.bin', O_RDONLY);
    const r = p.sys(SYS_sendfile, sfd, fd, 0, size);
    assert.ok(r instanceof PendingCall, 'a blocking sendfile waits for room');
    const s = p.proc.fds.get(sfd)!.value as unknown as { unsentBytes: number; sndBuf: number };
    await new Promise((x) => setTimeout(x, 50));
    assert.not.ok((r as PendingCall).done, 'still waiting: the client reads nothing');
    assert.ok(s.unsentBytes <= s.sndBuf, `host holds ${s.unsentBytes} unsent bytes`);
    let received = 0;
    c.on('data', (d: Buffer) => (received += d.length));
    c.resume();
    assert.is(await settled(r, 10000), size, 'completes in full once the client reads');
    await until(() => received === size, 10000);

    c.pause();
    await sys(p, SYS_lseek, fd, 0, 0, SEEK_SET);
    const again = p.sys(SYS_sendfile, sfd, fd, 0, size) as PendingCall;
    assert.ok(again instanceof PendingCall);
    await new Promise((x) => setTimeout(x, 50));
    assert.ok(again.cancel() || again.done);
    const sent = again.result!;
    assert.ok(sent > 0 && sent < size, `a cancelled sendfile reports what it sent (${sent})`);
    assert.is(await sys(p, SYS_lseek, fd, 0, 0, SEEK_CUR), sent, 'and the offset moved by that much');
  });

  t.run();
}

{
  const fx = new Fixtures<OsProcess>({ close: true });
  const t = fx.guard(suite('os files: fileIo auto'));

  t('a syscall thread reads files synchronously until its first socket, then on the threadpool', async () => {
    const dir = fx.tempDir('flexvm-os-fileio-');
    fs.writeFileSync(path.join(dir, 'f'), 'hello');
    const k = new OsKernel({ kind: 'os' }, { thread: 0, threadCount: 1, colocated: false, log: () => {} });
    const p = fx.harness(k).spawn({ grants: [{ hostPath: dir, guestPath: '/data' }] });
    const fd = now(p.sys(SYS_openat, AT_FDCWD, p.cstr('/data/f'), O_RDONLY, 0));
    const buf = p.alloc(16);
    assert.is(now(p.sys(SYS_pread64, fd, buf, 16, 0, 0)), 5, 'no socket yet: answered inside syscall()');
    assert.ok(now(p.sys(SYS_socket, AF_INET, SOCK_STREAM, 0)) >= 0);
    const r = p.sys(SYS_pread64, fd, buf, 16, 0, 0);
    assert.instance(r, PendingCall, 'with a socket on the thread the read goes to the threadpool');
    assert.is(await settled(r), 5);
    assert.is(p.string(buf, 5), 'hello');
  });

  t.run();
}
