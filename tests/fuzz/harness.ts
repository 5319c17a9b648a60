/**
 * What the protocol fuzzers and soak runs (httpd-fuzzer.ts, kv-fuzzer.ts) share: attackers sending
 * mutated and hostile inputs while a reference client checks every answer, and the host process's
 * resources counted before and after a soak.
 */
import { readdirSync } from 'node:fs';
import * as net from 'node:net';

/** What a protocol fuzz run counts. */
export interface ProtocolFuzzReport {
  requests: number;
  hostile: number;
  answered: number;
  silentCloses: number;
  timeouts: number;
  referenceChecks: number;
  readonly referenceFailures: string[];
  serverAlive: boolean;
}

export function newFuzzReport(): ProtocolFuzzReport {
  return { requests: 0, hostile: 0, answered: 0, silentCloses: 0, timeouts: 0, referenceChecks: 0, referenceFailures: [], serverAlive: true };
}

/**
 * Attackers (`concurrency` of them) send inputs until `until`: 30% from the hostile corpus, the
 * rest valid inputs `mutate`d, split over writes (some with 5 ms between pieces), each on a fresh
 * connection. Meanwhile a reference client checks the server every `intervalMs` (its failures are
 * prefixed with `label`), and once more at the end.
 */
export async function attackWhileChecking(o: {
  report: ProtocolFuzzReport;
  rnd: () => number;
  port: number;
  until: number;
  concurrency: number;
  hostile: readonly Buffer[];
  valid: readonly Buffer[];
  mutate: (rnd: () => number, input: Buffer) => Buffer;
  answerMs: number;
  reference: () => Promise<string | null>;
  intervalMs: number;
  label: string;
}): Promise<void> {
  const { report, rnd } = o;
  const attacker = async () => {
    while (Date.now() < o.until) {
      const hostile = rnd() < 0.3;
      const input = hostile ? o.hostile[Math.floor(rnd() * o.hostile.length)]! : o.mutate(rnd, o.valid[Math.floor(rnd() * o.valid.length)]!);
      const r = await exchange(o.port, split(rnd, input), o.answerMs, rnd() < 0.2 ? 5 : 0);
      report.requests++;
      if (hostile) report.hostile++;
      if (r.data.length > 0) report.answered++;
      else if (r.closed) report.silentCloses++;
      else report.timeouts++;
    }
  };
  const checker = async () => {
    while (Date.now() < o.until) {
      const why = await o.reference();
      report.referenceChecks++;
      if (why !== null) report.referenceFailures.push(`${o.label}: ${why}`);
      await new Promise((r) => setTimeout(r, o.intervalMs));
    }
  };
  await Promise.all([checker(), ...Array.from({ length: o.concurrency }, attacker)]);
  const why = await o.reference();
  if (why !== null) report.referenceFailures.push(`after the run: ${why}`);
}

/** A few random edits of `input`: bytes changed, cut, inserted (`tokens`, latin1), repeated, or a run of 'A'. */
export function mutateBytes(rnd: () => number, input: Buffer, tokens: readonly string[]): Buffer {
  const b = [...input];
  const n = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (b.length + 1));
    const r = rnd();
    if (r < 0.25) b[at] = Math.floor(rnd() * 256);
    else if (r < 0.45) b.splice(at, 1 + Math.floor(rnd() * 8));
    else if (r < 0.65) b.splice(at, 0, ...Buffer.from(tokens[Math.floor(rnd() * tokens.length)]!, 'latin1'));
    else if (r < 0.8) b.splice(at, 0, ...b.slice(at, at + Math.floor(rnd() * 64)));
    else b.splice(at, 0, ...Buffer.alloc(Math.floor(rnd() * 4096), 0x41));
  }
  return Buffer.from(b);
}

/** The input as it may really arrive: whole (60%) or in random pieces. */
export function split(rnd: () => number, input: Buffer): Buffer[] {
  if (rnd() < 0.6) return [input];
  const out: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const n = 1 + Math.floor(rnd() * Math.max(1, input.length / 3));
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** One exchange on a fresh connection: what came back before the server closed or `timeoutMs` passed. */
export function exchange(
  port: number,
  pieces: readonly Buffer[],
  timeoutMs: number,
  gapMs = 0,
  complete: ((data: Buffer) => boolean) | null = null,
): Promise<{ data: Buffer; closed: boolean; error: string | null }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | null = null;
    let settled = false;
    const s = net.connect({ host: '127.0.0.1', port });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.on('data', (d) => {
      chunks.push(d);
      if (complete !== null && complete(Buffer.concat(chunks))) finish(false);
    });
    s.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
    s.on('close', () => finish(true));
    s.on('connect', async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** The host process's descriptors, memory and libuv handles, before and after a soak run. */
export interface ResourceReport {
  fdsBefore: number;
  fdsAfter: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  handlesBefore: number;
  handlesAfter: number;
  /** The process's memory during the run, ten times over it: does it level off or keep growing? */
  samples: ResourceSample[];
}

/** One reading during a soak: seconds into it, operations done by then, RSS and V8 heap in use. */
export interface ResourceSample {
  s: number;
  ops: number;
  rssMiB: number;
  heapMiB: number;
}

interface ResourceCounts {
  fds: number;
  rssMiB: number;
  heapMiB: number;
  handles: number;
}

const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;

/** Counts after a garbage collection (with --expose-gc) and a short pause for closes to land. */
async function settledCounts(): Promise<ResourceCounts> {
  if (global.gc) global.gc();
  await new Promise((r) => setTimeout(r, 200));
  const m = process.memoryUsage();
  return {
    fds: readdirSync('/proc/self/fd').length,
    rssMiB: mib(m.rss),
    heapMiB: mib(m.heapUsed),
    handles: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length,
  };
}

/**
 * Counts before a soak run; `sample(seconds, ops)` then reads the memory ten times over the run
 * (without a collection, which would disturb the load), and `after()` counts again once the server
 * has stopped (a second later).
 */
export async function countResources(): Promise<{ report: ResourceReport; sample(seconds: number, ops: () => number): void; after(): Promise<void> }> {
  const before = await settledCounts();
  const report: ResourceReport = {
    fdsBefore: before.fds, fdsAfter: 0, rssBeforeMiB: before.rssMiB, rssAfterMiB: 0,
    heapBeforeMiB: before.heapMiB, heapAfterMiB: 0, handlesBefore: before.handles, handlesAfter: 0, samples: [],
  };
  let timer: NodeJS.Timeout | null = null;
  return {
    report,
    sample(seconds, ops) {
      const t0 = Date.now();
      timer = setInterval(() => {
        const m = process.memoryUsage();
        report.samples.push({ s: Math.round((Date.now() - t0) / 1000), ops: ops(), rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed) });
      }, Math.max(1000, (seconds * 1000) / 10));
      timer.unref();
    },
    async after() {
      if (timer) clearInterval(timer);
      await settledCounts();
      await new Promise((r) => setTimeout(r, 1000));
      const now = await settledCounts();
      report.fdsAfter = now.fds;
      report.rssAfterMiB = now.rssMiB;
      report.heapAfterMiB = now.heapMiB;
      report.handlesAfter = now.handles;
    },
  };
}
