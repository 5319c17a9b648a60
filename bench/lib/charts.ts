// SVG charts for the benchmark reports, drawn with vega-lite (rendered headless by vega). One chart
// answers one question: a horizontal bar per configuration, sorted as measured, with its value
// written at the bar's end, rather than many crossing lines.

/** A chart of a report: written as `<suite>.<id>.svg` beside the Markdown page. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  /** A vega-lite specification. */
  readonly spec: object;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Bars of one group share a colour (a kernel, a peer). */
  readonly group?: string;
}

/** Horizontal bars, one per configuration, in the given order. */
export function barChart(o: { id: string; title: string; axis: string; bars: readonly Bar[]; log?: boolean; format?: string; axisFormat?: string }): Chart {
  // d3-format strings: the value at a bar's end, and the axis's ticks (SI prefixes by default: 80k).
  const format = o.format ?? ',.0f';
  const axisFormat = o.axisFormat ?? '~s';
  const values = o.bars.map((b, i) => ({ label: b.label, value: b.value, group: b.group ?? '', order: i }));
  const grouped = o.bars.some((b) => b.group);
  const y = { field: 'label', type: 'nominal', sort: { field: 'order' }, title: null, axis: { labelLimit: 420 } };
  const x = { field: 'value', type: 'quantitative', title: o.axis, ...(o.log ? { scale: { type: 'log' } } : {}), axis: { format: axisFormat, tickCount: 6 } };
  return {
    id: o.id,
    title: o.title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: o.title,
      width: 520,
      height: { step: 22 },
      data: { values },
      layer: [
        { mark: { type: 'bar' }, encoding: { y, x, ...(grouped ? { color: { field: 'group', type: 'nominal', title: null, legend: { orient: 'bottom' } } } : {}) } },
        { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { y, x, text: { field: 'value', type: 'quantitative', format } } },
      ],
      config: { font: 'sans-serif', view: { stroke: null } },
    },
  };
}

/** The chart's file name beside the report. */
export const chartFile = (suite: string, chart: Chart): string => `${suite}.${chart.id}.svg`;

/** The Markdown lines that show the charts (images beside the page). */
export function chartSection(suite: string, charts: readonly Chart[]): string[] {
  return charts.flatMap((c) => [`![${c.title}](${chartFile(suite, c)})`, '']);
}
