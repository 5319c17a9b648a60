// What software can measure on this host without hardware counters: the wall time of native system
// calls, of a cache-line transfer and of a futex wake-up (small C programs built with cc), of a
// Wasm-to-JS import call (in this Node), and the Wasm-to-x86 instruction ratio of the same loops
// (callgrind counts the native ones exactly; the instrumented Wasm counts its own).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { calibrationSourcesDir } from '../paths.js';
import { instrumentWasm, PROBE_TOTAL } from '../count/instrument.js';

/** A user loop calling every `instructions` instructions: the throughput it keeps, measured. */
export interface FractionMeasurement {
  readonly call: 'getppid' | 'pwrite';
  /** Instructions per interval (user loop and the call's libc wrapper), counted by callgrind. */
  readonly instructions: number;
  /** Nanoseconds per interval without a call and with it (fastest batches). */
  readonly plainNs: number;
  readonly withCallNs: number;
  readonly fraction: number;
}

export interface HostMeasurements {
  readonly getppidNs: number;
  readonly pwriteNs: number;
  readonly cacheLineTransferNs: number;
  readonly futexWakeNs: number;
  readonly importCallNs: number;
  readonly nativeInstructions: number;
  readonly wasmInstructions: number;
  readonly clockGHz: number;
  readonly cpu: string;
  readonly fractions: readonly FractionMeasurement[];
}

function build(dir: string, source: string, extra: readonly string[] = []): string {
  const out = join(dir, source.replace(/\.c$/, ''));
  execFileSync('cc', ['-O2', '-o', out, join(calibrationSourcesDir(), source), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

function numbers(text: string): number[] {
  return text.trim().split(/\s+/).map(Number);
}

/** Instructions callgrind counts inside `kernels` of the native loops. */
function nativeLoopInstructions(dir: string): number {
  const exe = build(dir, 'loops.c');
  const out = join(dir, 'callgrind.out');
  const log = execFileSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--toggle-collect=kernels', exe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  void log;
  const text = readFileSync(out, 'utf8');
  const m = /^summary:\s+(\d+)/m.exec(text) ?? /^totals:\s+(\d+)/m.exec(text);
  if (!m) throw new Error('callgrind wrote no instruction total');
  return Number(m[1]);
}

/** Wasm instructions the same loops execute (loops.wat, instrumented). */
export function wasmLoopInstructions(rounds = 100): number {
  const mod = binaryen.parseText(readFileSync(join(calibrationSourcesDir(), 'loops.wat'), 'utf8'));
  const bytes = mod.emitBinary();
  mod.dispose();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(instrumentWasm(bytes)), {});
  (inst.exports['fill'] as () => void)();
  const counter = inst.exports[PROBE_TOTAL] as WebAssembly.Global;
  counter.value = 0n;
  (inst.exports['kernels'] as (n: number) => number)(rounds);
  return Number(counter.value);
}

/** Nanoseconds per call of a JS function imported by Wasm (the fastest of many batches). */
export function importCallNs(): number {
  const mod = binaryen.parseText(`(module (import "env" "f" (func $f (param i32) (result i32)))
    (func (export "run") (param $n i32) (result i32) (local $acc i32)
      (loop $l (local.set $acc (i32.add (local.get $acc) (call $f (local.get $n))))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $acc)))`);
  const bytes = mod.emitBinary();
  mod.dispose();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { f: (x: number) => x & 1 } });
  const run = inst.exports['run'] as (n: number) => number;
  run(100_000);
  let best = Infinity;
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    run(10_000);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 10_000);
  }
  return best;
}

function callgrindTotal(dir: string, exe: string, args: readonly string[]): number {
  const out = join(dir, 'fraction.callgrind');
  execFileSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, exe, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
  const m = /^summary:\s+(\d+)/m.exec(readFileSync(out, 'utf8')) ?? /^totals:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!m) throw new Error('callgrind wrote no instruction total');
  return Number(m[1]);
}

/**
 * The throughput a user loop (a 512 KB working set) keeps with a getppid or a 64-byte pwrite every
 * about `target` instructions: the interval's instructions counted by callgrind (the run with calls
 * minus the same run's set-up alone), its time measured without and with the call.
 */
function measureFractions(dir: string, targets: readonly number[]): FractionMeasurement[] {
  const exe = build(dir, 'fraction.c');
  const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const calls = 2000;
  // Instructions per loop iteration, from two runs without calls.
  const base = callgrindTotal(dir, exe, ['none', '0', String(calls)]);
  const perIteration = (callgrindTotal(dir, exe, ['none', '100', String(calls)]) - base) / (100 * calls);
  const out: FractionMeasurement[] = [];
  for (const target of targets) {
    const iterations = Math.max(1, Math.round(target / perIteration));
    const time = (mode: string): number => numbers(execFileSync(exe, [mode, String(iterations), '20000', shm], { encoding: 'utf8' }))[0]!;
    const plainNs = time('none');
    for (const call of ['getppid', 'pwrite'] as const) {
      const instructions = (callgrindTotal(dir, exe, [call, String(iterations), String(calls), shm]) - base) / calls;
      const withCallNs = time(call);
      out.push({ call, instructions: Math.round(instructions), plainNs, withCallNs, fraction: Math.round((plainNs / withCallNs) * 1000) / 1000 });
    }
  }
  return out;
}

function cpuInfo(): { clockGHz: number; cpu: string } {
  const text = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(text);
  const name = /model name\s*:\s*(.+)/.exec(text);
  return { clockGHz: mhz ? Math.round(Number(mhz[1]) / 10) / 100 : 0, cpu: name ? name[1]!.trim() : 'unknown' };
}

export function measureHost(): HostMeasurements {
  const dir = mkdtempSync(join(tmpdir(), 'flexvm-calibrate-'));
  try {
    const [getppidNs, pwriteNs] = numbers(execFileSync(build(dir, 'syscall.c'), [existsSync('/dev/shm') ? '/dev/shm' : tmpdir()], { encoding: 'utf8' }));
    const [cacheLineTransferNs, futexWakeNs] = numbers(execFileSync(build(dir, 'cacheline.c', ['-pthread']), { encoding: 'utf8', timeout: 120_000 }));
    return {
      getppidNs: getppidNs!,
      pwriteNs: pwriteNs!,
      cacheLineTransferNs: cacheLineTransferNs!,
      futexWakeNs: futexWakeNs!,
      importCallNs: importCallNs(),
      nativeInstructions: nativeLoopInstructions(dir),
      wasmInstructions: wasmLoopInstructions(),
      fractions: measureFractions(dir, [850, 1700]),
      ...cpuInfo(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
