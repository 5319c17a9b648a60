import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The README at the repository root (bench/lib/ is compiled to build/bench/lib/). */
export const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

const begin = (name: string): string => `<!-- results:${name} (generated from bench/results/${name}.json by \`npm run bench -- --replot\`; do not edit) -->`;
const end = (name: string): string => `<!-- /results:${name} -->`;

/** The first Markdown table of a suite's rendered page: what the README shows of its results. */
export function firstTable(markdown: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  if (start < 0) throw new Error('the rendered results hold no table');
  let stop = start;
  while (stop < lines.length && lines[stop]!.startsWith('|')) stop++;
  return lines.slice(start, stop).join('\n');
}

/** The README's generated section for suite `name`, or null when the README has none. */
export function readmeSection(name: string, readme = readFileSync(README, 'utf8')): string | null {
  const a = readme.indexOf(begin(name));
  const b = readme.indexOf(end(name));
  if (a < 0 || b < a) return null;
  return readme.slice(a + begin(name).length, b).trim();
}

/** Rewrites the README's generated section for suite `name` with `table`; false when it has none. */
export function writeReadmeSection(name: string, table: string): boolean {
  const readme = readFileSync(README, 'utf8');
  if (readmeSection(name, readme) === null) return false;
  const a = readme.indexOf(begin(name)) + begin(name).length;
  const b = readme.indexOf(end(name));
  writeFileSync(README, `${readme.slice(0, a)}\n${table}\n${readme.slice(b)}`);
  return true;
}
