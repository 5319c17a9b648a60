import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results/ in the source tree (not build/), or FLEXVM_BENCH_RESULTS. */
export const RESULTS_DIR = process.env['FLEXVM_BENCH_RESULTS'] ?? fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** Writes `<name>.json` and `<name>.md` under bench/results/ and returns their paths. */
export function writeResults(name: string, json: unknown, markdown: string): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const files = [join(RESULTS_DIR, `${name}.json`), join(RESULTS_DIR, `${name}.md`)];
  writeFileSync(files[0]!, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(files[1]!, markdown + '\n');
  return files;
}
