// Runs bench/guests/getpid.wasm once and returns what its timed part cost: the null-syscall and
import { performance } from 'node:perf_hooks';
// doorbell-flood suites and the nullcall A/B tool share it.
import { fileURLToPath } from 'node:url';
import type { VM } from '../../host/index.js';

export const GETPID_GUEST = fileURLToPath(new URL('../../../bench/guests/getpid.wasm', import.meta.url));

export interface GetpidRun {
  /** Nanoseconds per call by the guest's own monotonic clock. */
  readonly guestNsPerCall: number;
  /** Nanoseconds per call between the host's sight of the "start" and "end" lines. */
  readonly hostNsPerCall: number;
  /** The host's wall milliseconds between those lines. */
  readonly hostMs: number;
  /** This process's CPU milliseconds (every thread) between those lines. */
  readonly cpuMs: number;
}

export interface GetpidOptions {
  readonly calls: number;
  readonly batch: number;
  readonly warmup: number;
  readonly guest?: string;
  readonly mode?: 'exceptionless' | 'sync' | 'epoll';
}

/**
 * The guest times itself (a synchronous clock_gettime before and after), which keeps the host's own
 * delay in reading its output out of the figure. A kernel with simulated time answers that clock
 * with its virtual time, so there the host's view is the only real one: callers choose.
 */
export async function runGetpid(vm: VM, o: GetpidOptions): Promise<GetpidRun> {
  let start = 0;
  let end = 0;
  let cpu0 = process.cpuUsage();
  let cpuMs = 0;
  let text = '';
  const r = await vm.run(o.guest ?? GETPID_GUEST, {
    args: ['--calls', String(o.calls), '--batch', String(o.batch), '--warmup', String(o.warmup)],
    ...(o.mode ? { mode: o.mode } : {}),
    stdout: (d) => {
      const now = performance.now();
      text += Buffer.from(d).toString();
      if (!start && text.includes('start')) {
        start = now;
        cpu0 = process.cpuUsage();
      }
      if (!end && /end \d+\n/.test(text)) {
        end = now;
        const used = process.cpuUsage(cpu0);
        cpuMs = (used.user + used.system) / 1000;
      }
    },
  });
  const guestNs = Number(/end (\d+)\n/.exec(text)?.[1] ?? NaN);
  if (r.status !== 0 || !start || !end || !Number.isFinite(guestNs)) {
    throw new Error(`getpid guest failed (status ${r.status}${r.message ? `: ${r.message}` : ''})`);
  }
  return { guestNsPerCall: guestNs / o.calls, hostNsPerCall: ((end - start) * 1e6) / o.calls, hostMs: end - start, cpuMs };
}
