import { cpus, release, totalmem, type as osType } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  v8: string;
}

/** The machine a result was measured on (results are only comparable on the same one). */
export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/**
 * Syscall-thread counts to compare: FLEXVM_BENCH_THREADS (e.g. "1,2,4,8" on a many-core machine),
 * or `fallback`.
 */
export function threadCounts(fallback: readonly number[]): readonly number[] {
  const env = process.env['FLEXVM_BENCH_THREADS'];
  if (!env) return fallback;
  const list = env.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 64);
  return list.length ? list : fallback;
}

/**
 * Idle polling of the syscall threads before they sleep, in µs: FLEXVM_BENCH_SPIN_US, or the VM's
 * default (undefined). For experiments on how sleeping threads cost throughput.
 */
export function spinUs(): number | undefined {
  const n = Number(process.env['FLEXVM_BENCH_SPIN_US']);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Connection counts to compare: FLEXVM_BENCH_CONNS (e.g. "64"), or `fallback`. */
export function connCounts(fallback: readonly number[]): readonly number[] {
  const env = process.env['FLEXVM_BENCH_CONNS'];
  if (!env) return fallback;
  const list = env.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 20000);
  return list.length ? list : fallback;
}

/**
 * Keeps the configurations whose id matches FLEXVM_BENCH_ONLY (a regular expression, e.g.
 * "nginx|node-http|native-exceptionless"); all of them when it is unset.
 */
export function onlyConfigs<T extends { readonly id: string }>(configs: readonly T[]): readonly T[] {
  const env = process.env['FLEXVM_BENCH_ONLY'];
  if (!env) return configs;
  const re = new RegExp(env);
  return configs.filter((c) => re.test(c.id));
}
