/**
 * The conformance suites' runner: each area's cases are written once and run against every kernel
 * the registry names (KERNEL_NAMES), as preview2-shim's testFilesystemImplementation(name,
 * createSubject) does. A kernel joins by one line in SUBJECTS; a kernel in the registry without a
 * subject fails every suite, so none is left out silently.
 *
 * The native kernel needs its addon (`npm ci` builds it): without it its cases fail in CI (CI or
 * FLEXVM_REQUIRE_NATIVE set) and are skipped, with a note, elsewhere.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type * as net from 'node:net';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Kernel, KernelModule } from '../../host/kernel/kernel.js';
import type { NativeAddon } from '../../host/kernel/native/addon.js';
import { KERNEL_NAMES, loadKernelModule } from '../../host/kernel/registry.js';
import { Fixtures } from './kernel-fixtures.js';
import { KernelHarness, type SpawnOptions, type TestProcess } from './kernel-harness.js';
import { native } from './native.js';
import { NATIVE_HEAP_START, NativeTestKernel } from './native-kernel.js';

/** Options every kernel understands. */
export interface SubjectOptions {
  /** Listening beyond the loopback interface (os and native; the virtual network has no other). */
  readonly allowNonLoopbackListen?: boolean;
  /** Outgoing connections granted beyond the default loopback (os and native: a host network). */
  readonly allowConnect?: readonly string[];
}

/** Where setup's `files` appear in the guest: a host directory granted there, on every kernel. */
export const DATA = '/data';

export interface SubjectSpawnOptions extends SpawnOptions {
  /**
   * Files (paths relative to DATA; a trailing slash makes a directory) in a fresh host directory,
   * granted to the guest at DATA (read-only when `readOnly`): the virtual kernel copies it in,
   * the os and native kernels open below it.
   */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  readonly readOnly?: boolean;
}

/** One kernel under test. */
export interface Subject {
  readonly name: string;
  /**
   * `virtual`: time passes only when every guest waits (the harness's idle step, which settled()
   * takes); `real`: the host's clocks.
   */
  readonly time: 'virtual' | 'real';
  /** A harness over a fresh kernel, closed after the test, and one guest on it. */
  setup(spawn?: SubjectSpawnOptions, options?: SubjectOptions): Setup;
  /** Destroys (or closes) a host peer after the test. */
  peer<T extends net.Socket | net.Server>(s: T): T;
  /** A fresh host directory, removed after the test. */
  tempDir(prefix: string): string;
  /** The kernel's diagnostics in this test. */
  readonly logs: string[];
}

export interface Setup {
  readonly h: KernelHarness<unknown>;
  readonly p: TestProcess<unknown>;
  /** The host directory granted at DATA (when setup was given files). */
  readonly dir: string | null;
  /** Another guest on the same kernel (with DATA granted too). */
  spawn(options?: SpawnOptions): TestProcess<unknown>;
}

type Made = { kernel: Kernel<unknown>; heapStart?: number };
type MakeKernel = (options: SubjectOptions, log: (m: string) => void) => Made;

/** A kernel from its registry module, with the options every kernel accepts (and a variant's own). */
function fromRegistry(mod: KernelModule, kind: string, variant: { options?: object; colocated?: boolean } = {}) {
  return (options: SubjectOptions, log: (m: string) => void): Made => {
    const config = kind === 'os' ? { kind, ...options, ...variant.options } : { kind };
    const context = { thread: 0, threadCount: 1, log, ...(variant.colocated ? { colocated: true } : {}) };
    return { kernel: mod.createKernel(config, context) as Kernel<unknown> };
  };
}

interface SubjectEntry {
  readonly time: 'virtual' | 'real';
  /** Another configuration of a registry kernel, run by suites that ask for variants. */
  readonly variantOf?: string;
  /** Why the kernel cannot run here, or how to make one. */
  load(): Promise<string | MakeKernel>;
}

/**
 * Each kernel of the registry, as the suites create it: one line per kernel. The native kernel has
 * no JavaScript instance (its module only makes executors), so the suites drive its executor through
 * the syscall pages (NativeTestKernel).
 */
const SUBJECTS: Readonly<Record<string, SubjectEntry>> = {
  virtual: { time: 'virtual', load: async () => fromRegistry(await loadKernelModule({ kind: 'virtual' }), 'virtual') },
  os: { time: 'real', load: async () => fromRegistry(await loadKernelModule({ kind: 'os' }), 'os') },
  // The os kernel's file calls run three ways: synchronously on a syscall thread until it has a
  // socket (the default above), on Node's threadpool, and inside syscall() on the guest's thread.
  'os (threadpool)': { time: 'real', variantOf: 'os', load: async () => fromRegistry(await loadKernelModule({ kind: 'os' }), 'os', { options: { fileIo: 'threadpool' } }) },
  'os (colocated)': { time: 'real', variantOf: 'os', load: async () => fromRegistry(await loadKernelModule({ kind: 'os' }), 'os', { colocated: true }) },
  native: { time: 'real', load: async () => (typeof native === 'string' ? native : (o) => ({ kernel: new NativeTestKernel(native as NativeAddon, o) as Kernel<unknown>, heapStart: NATIVE_HEAP_START })) },
};

/** A case that only some kernels can run, and why the others cannot. */
export interface CaseScope {
  readonly kernels: readonly string[];
  readonly why: string;
}

export type Case = (name: string, fn: () => void | Promise<void>, scope?: CaseScope) => void;

/** Cases that talk to a host peer over real loopback TCP: the virtual kernel's network is its own. */
export const HOST_NETWORK: CaseScope = { kernels: ['os', 'native'], why: 'a host peer over real TCP: the virtual network is in memory' };

/**
 * Registers `area`'s cases once per kernel: `define(test, subject)` is called for each, and its
 * cases run as the uvu suite "AREA on KERNEL". A case can say where one kernel legitimately
 * differs by looking at subject.name, with the reason beside it.
 */
export async function conformance(area: string, define: (test: Case, subject: Subject) => void, options: { variants?: boolean } = {}): Promise<void> {
  const variants = options.variants ? Object.keys(SUBJECTS).filter((n) => SUBJECTS[n]!.variantOf !== undefined) : [];
  for (const name of [...KERNEL_NAMES, ...variants]) {
    const entry = SUBJECTS[name];
    const kernel = entry?.variantOf ?? name;
    const s = suite(`${area} on ${name}`);
    if (!entry) {
      s(`the ${name} kernel has a conformance subject`, () => assert.unreachable(`add the ${name} kernel to SUBJECTS in tests/helpers/conformance.ts`));
      s.run();
      continue;
    }
    const make = await entry.load();
    const fx = new Fixtures<unknown>({ close: true });
    const guarded = fx.guard(s);
    const logs: string[] = [];
    const subject: Subject = {
      name: kernel,
      time: entry.time,
      logs,
      setup(spawn = {}, options = {}) {
        if (typeof make === 'string') throw new Error(make);
        const made = make(options, (m) => logs.push(m));
        const h = fx.harness(made.kernel, made.heapStart === undefined ? {} : { heapStart: made.heapStart });
        const { files, readOnly, ...rest } = spawn;
        let dir: string | null = null;
        const grants = [...(rest.grants ?? [])];
        if (files) {
          dir = fx.tempDir(`flexvm-${area}-`);
          for (const [name, content] of Object.entries(files)) {
            const at = join(dir, name);
            if (name.endsWith('/')) mkdirSync(at, { recursive: true });
            else {
              mkdirSync(dirname(at), { recursive: true });
              writeFileSync(at, content);
            }
          }
          grants.push({ hostPath: dir, guestPath: DATA, readOnly: readOnly ?? false });
        }
        const more = (o: SpawnOptions = {}) => h.spawn({ ...o, grants: [...grants, ...(o.grants ?? [])] });
        return { h, p: more(rest), dir, spawn: more };
      },
      peer: (s) => fx.peer(s),
      tempDir: (prefix) => fx.tempDir(prefix),
    };
    let test: Case;
    if (typeof make !== 'string') {
      test = (caseName, fn, scope) => {
        if (scope && !scope.kernels.includes(kernel)) return;
        guarded(caseName, async () => {
          logs.length = 0;
          await fn();
          assert.equal(logs.filter((m) => m.includes('internal error')), [], 'the kernel reported internal errors');
        });
      };
    } else if (process.env.CI || process.env.FLEXVM_REQUIRE_NATIVE) {
      test = (caseName, _fn, scope) => {
        if (scope && !scope.kernels.includes(kernel)) return;
        s(caseName, () => assert.unreachable(`the ${name} kernel is unavailable: ${make}: CI must build it (npm ci)`));
      };
    } else {
      let noted = false;
      test = (caseName) =>
        s(caseName, () => {
          if (!noted) console.log(`  (skipped the ${name} kernel's ${area} cases: ${make})`);
          noted = true;
        });
    }
    define(test, subject);
    s.run();
  }
}
