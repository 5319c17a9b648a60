// Plain-text line charts for the benchmark reports, drawn with asciichart. The text goes into a
// Markdown code block, so no colours: asciichart draws every series with the same line
// characters, and each measured point is marked with its series' letter (A, B, ...) instead,
// with a legend below. Points of several series in one cell show all their letters ("CD").
import { plot } from 'asciichart';

export interface Series {
  readonly label: string;
  /** One value per x tick; null where not measured (a line joins the leading measured run). */
  readonly values: readonly (number | null)[];
}

export interface LineChart {
  /** Equally spaced categories (not to scale), e.g. connection counts. */
  readonly x: { readonly label: string; readonly ticks: readonly string[] };
  readonly y: {
    readonly label: string;
    /** Formats an axis value with its unit, e.g. "1.94 µs". */
    readonly format: (v: number) => string;
    /** Log10 axis, for values that span orders of magnitude (the label should say so). */
    readonly log?: boolean;
  };
  readonly series: readonly Series[];
  /** Rows of the plot area. */
  readonly height?: number;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Renders the chart: y label, plot with y axis, x axis with ticks, x label, legend. */
export function lineChart(chart: LineChart): string {
  const { x, y, series } = chart;
  const height = chart.height ?? 14;
  if (series.length > LETTERS.length) throw new Error(`lineChart: at most ${LETTERS.length} series`);
  const toAxis = (v: number): number => (y.log ? Math.log10(v) : v);
  const fromAxis = (a: number): number => (y.log ? 10 ** a : a);
  const plottable = (v: number | null): v is number => v !== null && Number.isFinite(v) && (!y.log || v > 0);

  const all = series.flatMap((s) => s.values.filter(plottable));
  if (!all.length) return '(no data to plot)';
  let lo = Math.min(...all.map(toAxis));
  let hi = Math.max(...all.map(toAxis));
  if (hi - lo < 1e-9) {
    // asciichart collapses a zero range to one row; give flat data some room.
    const pad = y.log ? 0.5 : Math.abs(lo) / 2 || 1;
    lo -= pad;
    hi += pad;
  }

  // Columns between x ticks: wide enough for the tick labels and for the lines to show slopes.
  const step = Math.max(8, ...x.ticks.map((t) => t.length + 2), Math.floor(48 / Math.max(1, x.ticks.length - 1)));
  const width = (x.ticks.length - 1) * step + 1;
  // Wide enough for every row's label (asciichart labels each row).
  const labelWidth = 1 + Math.max(...Array.from({ length: height + 1 }, (_, i) => y.format(fromAxis(lo + ((hi - lo) * i) / height)).length));

  // asciichart rounds values to rows relative to zero but spaces the row labels from the
  // minimum, which puts points up to a row off their labels unless the minimum falls on a row.
  // So hand it axis values shifted to [span, 2 span]: the minimum then lands on row `height`
  // exactly (and away from 0, where it would also draw its zero mark on the axis).
  const span = hi - lo;
  const shift = (a: number): number => a - lo + span;

  // asciichart needs one gap-free array per series: interpolate each leading measured run over
  // the columns between its ticks (in axis units, so a log axis shows straight segments).
  const lines = series.map((s) => {
    const run: number[] = [];
    for (const v of s.values) {
      if (!plottable(v)) break;
      run.push(shift(toAxis(v)));
    }
    const cols: number[] = [];
    for (let i = 0; i < run.length; i++) {
      if (i === run.length - 1) cols.push(run[i]!);
      else for (let c = 0; c < step; c++) cols.push(run[i]! + ((run[i + 1]! - run[i]!) * c) / step);
    }
    return cols;
  });
  const drawn = lines.filter((l) => l.length > 0);
  const text = plot(drawn.length ? drawn : [[span]], {
    min: span,
    max: 2 * span,
    height,
    format: (v: number) => y.format(fromAxis(v - span + lo)).padStart(labelWidth),
  });
  // Each row: the label (labelWidth), a space, the axis, then one cell per column.
  const grid = text.split('\n').map((row) => [...row.padEnd(labelWidth + 2 + width + series.length)]);
  const dataStart = labelWidth + 2;

  // The row asciichart puts a value on, computed as asciichart does (asciichart.js, plot()).
  const ratio = height / span;
  const min2 = Math.round(span * ratio);
  const rows = Math.round(2 * span * ratio) - min2;
  const rowOf = (a: number): number => rows - (Math.round(shift(a) * ratio) - min2);

  const marks = new Map<string, string>();
  series.forEach((s, i) => {
    s.values.forEach((v, k) => {
      if (!plottable(v)) return;
      const key = `${rowOf(toAxis(v))},${k}`;
      marks.set(key, (marks.get(key) ?? '') + LETTERS[i]);
    });
  });
  for (const [key, letters] of marks) {
    const [row, k] = key.split(',').map(Number) as [number, number];
    const cells = grid[row];
    if (!cells) continue;
    [...letters].forEach((ch, j) => (cells[dataStart + k * step + j] = ch));
  }

  // x axis: ticks under the measured columns, their labels centred below.
  const axis = [...' '.repeat(labelWidth + 1) + '└' + '─'.repeat(width + 1)];
  const tickRow = [...' '.repeat(dataStart + width + Math.max(...x.ticks.map((t) => t.length)))];
  x.ticks.forEach((t, k) => {
    const col = dataStart + k * step;
    axis[col] = '┬';
    const start = Math.max(0, col - Math.floor((t.length - 1) / 2));
    [...t].forEach((ch, j) => (tickRow[start + j] = ch));
  });

  const legend = series.map((s, i) => `  ${LETTERS[i]}  ${s.label}`);
  return [
    y.label,
    ...grid.map((cells) => cells.join('').trimEnd()),
    axis.join(''),
    tickRow.join('').trimEnd(),
    `${' '.repeat(dataStart)}${x.label}`,
    '',
    ...legend,
  ].join('\n');
}
