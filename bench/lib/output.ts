import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderVegaLiteSvg } from '../../host/charts/render-svg.js';
import { chartFile, type Chart } from './charts.js';

/** bench/results/ in the source tree (not build/), or FLEXVM_BENCH_RESULTS. */
export const RESULTS_DIR = process.env['FLEXVM_BENCH_RESULTS'] ?? fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** What a suite renders from its results: the Markdown page, the plain-text plot in it, and its SVG charts. */
export interface Report {
  readonly markdown: string;
  readonly plot: string;
  readonly charts?: readonly Chart[];
}

/**
 * A suite measures (writing `<name>.json`) and renders that JSON alone into `<name>.md` and
 * `<name>.plot.txt`, so committed results can be re-rendered without measuring again.
 */
export interface Suite<Results> {
  measure(opts: { rounds: number; scale: number }): Promise<Results>;
  render(results: Results): Report;
}

/** The plot file's name, for the Markdown page to link to. */
export const plotFile = (name: string): string => `${name}.plot.txt`;

/** The Markdown lines that show a plot (in a code block) and link to its file. */
export function plotSection(name: string, plot: string): string[] {
  return [`Plot (also in [${plotFile(name)}](${plotFile(name)})):`, '', '```text', plot, '```'];
}

/** Writes `<name>.json` under bench/results/ and returns its path. */
export function writeResults(name: string, json: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  return file;
}

/** Reads `<name>.json` back, checking that it is that suite's. */
export function readResults(name: string): unknown {
  const file = join(RESULTS_DIR, `${name}.json`);
  const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof json !== 'object' || json === null || (json as { suite?: unknown }).suite !== name) throw new Error(`${file}: not results of suite ${name}`);
  return json;
}

/** Writes `<name>.md`, `<name>.plot.txt` and the charts' `<name>.<chart>.svg` under bench/results/; returns their paths. */
export async function writeReport(name: string, report: Report): Promise<string[]> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const files = [join(RESULTS_DIR, `${name}.md`), join(RESULTS_DIR, plotFile(name))];
  writeFileSync(files[0]!, report.markdown + '\n');
  writeFileSync(files[1]!, report.plot + '\n');
  for (const chart of report.charts ?? []) {
    const file = join(RESULTS_DIR, chartFile(name, chart));
    writeFileSync(file, await renderVegaLiteSvg(chart.spec));
    files.push(file);
  }
  return files;
}
