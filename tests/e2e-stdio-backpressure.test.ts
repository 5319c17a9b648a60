// Standard output and error have back-pressure (issue 8, defect 2): a guest writing to a sink that
// does not take its bytes (a pipe nobody reads) is held at STDIO_QUEUE_LIMIT bytes queued per
// stream, waiting in write as on a full pipe, or answered -EAGAIN when its descriptor is
// non-blocking; a sink that keeps up gets everything, and so does a slow one (the parked writer
// resumes when the sink drains, which happens outside any system call). On every kernel.
import { test as uvuTest } from 'uvu';
import * as assert from 'uvu/assert';
import { STDIO_QUEUE_LIMIT } from '../host/kernel/kernel.js';
import { VM } from '../host/vm/vm.js';
import { guestPath, waitFor } from './helpers/e2e.js';
import { nativeTest } from './helpers/native.js';

const FLOOD = guestPath('tests/guests/flood');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kernel of ['virtual', 'os', 'native'] as const) {
  const test = kernel === 'native' ? nativeTest() : uvuTest;
  // The native kernel's streams are real pipes: a pipe's capacity more may wait in the pipe itself.
  const slack = kernel === 'native' ? 2 * 65536 : 65536;
  test(`${kernel} kernel: a sink that never takes the bytes holds the guest at the queue limit`, async () => {
    const vm = await VM.create({ kernel, syscallThreads: 2 });
    try {
      let delivered = 0;
      const guest = await vm.spawn(FLOOD, {
        args: ['--bytes', String(256 << 20)],
        stdout: (d) => {
          delivered += d.length;
          return new Promise<void>(() => {}); // never taken: a pipe nobody reads
        },
        stderr: () => {},
      });
      await sleep(1500);
      assert.ok(delivered > 0, 'the guest wrote');
      assert.ok(delivered <= STDIO_QUEUE_LIMIT + slack, `queued ${delivered} bytes, limit ${STDIO_QUEUE_LIMIT}`);
      let exited = false;
      void guest.exited.then(() => (exited = true));
      assert.not.ok(exited, 'the guest waits in write');
      guest.kill(200);
      await guest.exited;
    } finally {
      await vm.close();
    }
  });

  test(`${kernel} kernel: a non-blocking standard output answers -EAGAIN when full`, async () => {
    const vm = await VM.create({ kernel });
    try {
      let err = '';
      let delivered = 0;
      const r = await vm.run(FLOOD, {
        args: ['--bytes', String(256 << 20), '--nonblock'],
        stdout: (d) => {
          delivered += d.length;
          return new Promise<void>(() => {});
        },
        stderr: (d) => void (err += Buffer.from(d).toString()),
      });
      assert.is(r.status, 0, err);
      const m = /flood: wrote (\d+), EAGAIN (\d+)/.exec(err);
      assert.ok(m, err);
      assert.is(Number(m![2]), 1000);
      const wrote = Number(m![1]);
      assert.ok(wrote <= STDIO_QUEUE_LIMIT + slack, err);
      // Everything the guest wrote reaches the sink (on native, once the guest's pipe is closed).
      await waitFor(() => delivered === wrote, 2000);
    } finally {
      await vm.close();
    }
  });

  test(`${kernel} kernel: a sink that keeps up gets every byte`, async () => {
    const vm = await VM.create({ kernel });
    try {
      let delivered = 0;
      let err = '';
      const r = await vm.run(FLOOD, {
        args: ['--bytes', String(8 << 20)],
        stdout: async (d) => {
          delivered += d.length;
          await sleep(0);
        },
        stderr: (d) => void (err += Buffer.from(d).toString()),
      });
      assert.is(r.status, 0);
      await waitFor(() => err.includes('flood: wrote'), 2000);
      assert.match(err, `flood: wrote ${8 << 20}`);
      assert.is(delivered, 8 << 20);
    } finally {
      await vm.close();
    }
  });

  // The writer fills the queue long before the sink takes anything, so it parks in write; only the
  // sink's drains, which come from the event loop and outside any system call, can resume it. (The
  // virtual kernel once only queued the retry then, and such a writer waited forever.)
  test(`${kernel} kernel: a slow sink gets every byte (the parked writer resumes on its drains)`, async () => {
    const vm = await VM.create({ kernel, syscallThreads: 1 });
    try {
      let delivered = 0;
      let err = '';
      const r = await Promise.race([
        vm.run(FLOOD, {
          args: ['--bytes', String(4 << 20)],
          stdout: (d) => {
            delivered += d.length;
            return sleep(100);
          },
          stderr: (d) => void (err += Buffer.from(d).toString()),
        }),
        sleep(20_000).then(() => null),
      ]);
      assert.ok(r, `the writer stalled at ${delivered} of ${4 << 20} bytes`);
      assert.is(r!.status, 0, err);
      await waitFor(() => err.includes('flood: wrote'), 2000);
      assert.match(err, `flood: wrote ${4 << 20}`);
      assert.is(delivered, 4 << 20);
    } finally {
      await vm.close();
    }
  });
}

uvuTest.run();
