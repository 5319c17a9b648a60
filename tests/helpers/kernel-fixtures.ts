/**
 * What a kernel unit test sets up and must undo after it, shared by the virtual and os kernel tests.
 * One Fixtures per suite, whose tests are registered through it: `const test = fx.guard(uvuTest)`.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Callback, Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Kernel } from '../../host/kernel/kernel.js';
import { KernelHarness, type HarnessOptions } from './kernel-harness.js';

export interface FixtureOptions {
  /** Close each harness after the test (kernels holding real resources: sockets, host files, timers). */
  readonly close: boolean;
}

/**
 * Harnesses (checked for Kernel contract breaches after every test, and closed when asked), host
 * peers (sockets and servers talking to the guest), and temporary directories.
 */
export class Fixtures<P> {
  private readonly harnesses: KernelHarness<P>[] = [];
  private readonly peers: (net.Socket | net.Server)[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly options: FixtureOptions) {}

  /** A harness over `kernel` (or one instance per simulated thread). */
  harness(kernel: Kernel<P> | readonly Kernel<P>[], options: HarnessOptions = {}): KernelHarness<P> {
    const h = new KernelHarness(kernel, options);
    this.harnesses.push(h);
    return h;
  }

  /** Destroys (or closes) `s` after the test. */
  peer<T extends net.Socket | net.Server>(s: T): T {
    this.peers.push(s);
    return s;
  }

  /** A fresh directory under the system's temporary directory, removed after the test. */
  tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /**
   * The suite's tests, each followed by the cleanup and the check for Kernel contract breaches inside
   * its own body, so that a breach fails the test that caused it. (Not in an after.each hook: uvu
   * 0.5.6 drops an error thrown there after a failed test, skips the rest of the file and exits 0.)
   */
  guard<T>(t: Test<T>): Test<T> {
    const wrap =
      (fn: Callback<T>): Callback<T> =>
      async (context) => {
        let breaches: string[];
        try {
          await fn(context);
        } finally {
          breaches = await this.cleanup();
        }
        assert.equal(breaches, [], 'Kernel contract breaches');
      };
    const guarded = ((name: string, fn: Callback<T>) => t(name, wrap(fn))) as Test<T>;
    return Object.assign(guarded, {
      only: (name: string, fn: Callback<T>) => t.only(name, wrap(fn)),
      skip: t.skip,
      before: t.before,
      after: t.after,
      run: t.run,
    });
  }

  /**
   * Peers first (so kernels see their peers go), then the harnesses, then the directories. Returns
   * the harnesses' Kernel contract breaches (guard fails the test with them).
   */
  async cleanup(): Promise<string[]> {
    for (const s of this.peers.splice(0)) {
      if (s instanceof net.Socket) s.destroy();
      else s.close();
    }
    const breaches: string[] = [];
    for (const h of this.harnesses.splice(0)) {
      breaches.push(...h.breaches());
      if (this.options.close) await h.close();
    }
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    return breaches;
  }
}

/** Host descriptors of this process open on something under `dir` (Linux /proc). */
export function hostFdsUnder(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir + '/')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
