// The baselines of the file-io suite: the same random 4 KiB preads written directly on Node's `fs`,
// either asynchronously (libuv's thread pool), --inflight of them at a time over --files files, or
// with --sync one after the other with fs.readSync on this thread (what the guest rows that read
// synchronously on their syscall thread do). Prints the ns per read.
import { open } from 'node:fs/promises';
import { read, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    files: { type: 'string', default: '8' },
    'file-size': { type: 'string', default: '1048576' },
    size: { type: 'string', default: '4096' },
    inflight: { type: 'string', default: '64' },
    reads: { type: 'string', default: '100000' },
    sync: { type: 'boolean', default: false },
  },
});
const files = Number(values.files);
const fileSize = Number(values['file-size']);
const size = Number(values.size);
const inflight = Number(values.inflight);
const reads = Number(values.reads);
const handles = await Promise.all(Array.from({ length: files }, (_, i) => open(`${values.dir}/f${i}`, 'r')));
const fds = handles.map((h) => h.fd);
let seed = 12345;
const nextOffset = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return ((seed >>> 8) % ((fileSize - size) / size + 1)) * size;
};

function run(n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = n;
    let active = 0;
    const issue = (k: number, buf: Buffer): void => {
      left--;
      active++;
      read(fds[k]!, buf, 0, size, nextOffset(), (err, bytes) => {
        active--;
        if (err || bytes !== size) return reject(err ?? new Error('short read'));
        if (left > 0) issue((k + 1) % files, buf);
        else if (active === 0) resolve();
      });
    };
    for (let i = 0; i < inflight && left > 0; i++) issue(i % files, Buffer.alloc(size));
  });
}

/** The same reads, synchronously, in turn over the files. */
function runSync(n: number): void {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < n; i++) {
    if (readSync(fds[i % files]!, buf, 0, size, nextOffset()) !== size) throw new Error('short read');
  }
}

const once = async (n: number): Promise<void> => (values.sync ? runSync(n) : run(n));
await once(reads / 10);
const t0 = performance.now();
await once(reads);
const ns = ((performance.now() - t0) * 1e6) / reads;
await Promise.all(handles.map((h) => h.close()));
process.stdout.write(JSON.stringify({ nsPerRead: ns }) + '\n');
