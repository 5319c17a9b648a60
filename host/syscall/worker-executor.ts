import type { Worker } from 'node:worker_threads';
import type { AttachInfo, FromWorker, SpawnInfo, SyscallWorkerData, ToSyscallWorker } from '../vm/messages.js';
import { internalError } from '../errors.js';
import { SYSCALL_WORKER_URL, startWorker } from '../worker-entry-points.js';
import type { Executor, ExecutorContext, SyscallCounts } from './executor.js';

/** The JavaScript executor: one Node worker per syscall thread, each running a SyscallThread. */
export class WorkerExecutor implements Executor {
  private readonly workers: Worker[] = [];
  private readonly detaching = new Map<number, { left: number; counts: (SyscallCounts | null)[]; done: (c: (SyscallCounts | null)[]) => void }>();
  private closed = false;

  constructor(private readonly context: ExecutorContext) {}

  async start(): Promise<void> {
    const c = this.context;
    const ready: Promise<void>[] = [];
    for (let index = 0; index < c.threads; index++) {
      const data: SyscallWorkerData = {
        index,
        count: c.threads,
        kernel: c.kernel,
        shared: c.shared.buffer,
        spinUs: c.spinUs,
        limits: c.limits,
        trace: c.trace,
      };
      const worker = startWorker(SYSCALL_WORKER_URL, { workerData: data, name: `flexvm-syscall-${index}` });
      this.workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: FromWorker) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'fatal') reject(new Error(`syscall thread ${index}: ${m.message}`));
            else if (m.type === 'detached') this.onDetached(m.gid, m.counts);
            else c.report(m);
          });
          worker.once('error', (err) => {
            reject(err);
            c.report({ type: 'log', message: internalError(`syscall thread ${index} failed: ${err.stack ?? err.message}`) });
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(this.workers.map((w) => w.terminate()));
      throw err;
    }
  }

  attach(guest: AttachInfo): void {
    this.broadcast({ type: 'attach', guest });
  }

  detach(gid: number): Promise<(SyscallCounts | null)[]> {
    if (this.closed) return Promise.resolve([]);
    return new Promise((done) => {
      this.detaching.set(gid, { left: this.workers.length, counts: [], done });
      this.broadcast({ type: 'detach', gid });
    });
  }

  spawnColocated(guest: SpawnInfo): void {
    this.workers[0]!.postMessage({ type: 'spawn', guest } satisfies ToSyscallWorker);
  }

  stopColocated(gid: number, reason: number): void {
    this.workers[0]!.postMessage({ type: 'kill', gid, reason } satisfies ToSyscallWorker);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => void w.terminate().then(() => resolve()), 1000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.postMessage({ type: 'close' } satisfies ToSyscallWorker);
          }),
      ),
    );
  }

  private onDetached(gid: number, counts: SyscallCounts | null): void {
    const d = this.detaching.get(gid);
    if (!d) return;
    d.counts.push(counts);
    if (--d.left === 0) {
      this.detaching.delete(gid);
      d.done(d.counts);
    }
  }

  private broadcast(m: ToSyscallWorker): void {
    for (const w of this.workers) w.postMessage(m);
  }
}
