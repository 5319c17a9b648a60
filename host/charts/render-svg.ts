// Renders a vega-lite specification to an SVG string, headless: vega-lite compiles it to a vega
// specification and vega's View draws it with its SVG string renderer (no browser, no canvas).
// Loaded lazily, so commands that draw nothing do not pay for the charting libraries.

/** The SVG text of a vega-lite chart. */
export async function renderVegaLiteSvg(spec: object): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
