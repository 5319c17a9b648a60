// The papers' tables and curves, kept as CSV files beside this module (lines starting with # say
// where they come from). A tiny reader: the files are ours, with no quoting.
import { readFileSync } from 'node:fs';

export type CsvRow = Readonly<Record<string, string>>;

export function readCsv(path: string): CsvRow[] {
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const [header, ...rows] = lines;
  if (!header) return [];
  const names = header.split(',');
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i] ?? `c${i}`, v])));
}
