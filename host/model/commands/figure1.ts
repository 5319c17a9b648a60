// `flexvm model figure1`: user IPC against the number of user instructions between synchronous calls,
// the direct and indirect parts, for each profile, beside the points the event-driven paper published.
import { writeFileSync } from 'node:fs';
import { figure1Axis, figure1Point } from '../core/figure1.js';
import { loadProfile, profileNames, type ResolvedProfile } from '../profiles/profile.js';
import { csv, table, type Row } from '../output/format.js';
import { renderVegaLiteSvg } from '../../charts/render-svg.js';
import { parseModelOptions } from './options.js';

/** Published points (Exception-Less System Calls for Event-Driven Servers, ATC 2011, section 2). */
export const FIGURE1_PAPER: readonly { instructions: number; ipc: number; what: string }[] = [
  { instructions: 1000, ipc: 0.5, what: 'pwrite every 1,000 instructions (section 2: 0.50)' },
  { instructions: 2000, ipc: 0.58, what: 'pwrite every 2,000 instructions (section 2: 0.58)' },
];

export function figure1Rows(profiles: readonly ResolvedProfile[], axis: readonly number[] = figure1Axis()): Row[] {
  const rows: Row[] = [];
  for (const p of profiles) {
    for (const n of axis) {
      const f = figure1Point(p.curve, p.modeSwitchCycles, n);
      rows.push({
        profile: p.name,
        instructions: n,
        baseline_ipc: f.baselineIpc,
        direct_only_ipc: f.directIpc,
        user_ipc: f.ipc,
        direct_loss: f.directLoss,
        indirect_loss: f.indirectLoss,
      });
    }
  }
  return rows;
}

export function figure1Spec(rows: readonly Row[]): object {
  const lines = rows.flatMap((r) => [
    { profile: r['profile'], instructions: r['instructions'], ipc: r['user_ipc'], cost: 'direct + indirect' },
    { profile: r['profile'], instructions: r['instructions'], ipc: r['direct_only_ipc'], cost: 'direct only' },
  ]);
  const paper = FIGURE1_PAPER.map((p) => ({ instructions: p.instructions, ipc: p.ipc, source: 'ATC 2011 Figure 1 (Xalan, pwrite)' }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'User IPC against user instructions between synchronous calls',
    width: 560,
    height: 320,
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'instructions', type: 'quantitative', scale: { type: 'log' }, title: 'user instructions between calls' },
          y: { field: 'ipc', type: 'quantitative', title: 'user IPC', scale: { domain: [0, 1.6] } },
          color: { field: 'profile', type: 'nominal' },
          strokeDash: { field: 'cost', type: 'nominal', title: 'costs modelled' },
        },
      },
      {
        data: { values: paper },
        mark: { type: 'point', filled: true, size: 90, color: 'black', shape: 'diamond' },
        encoding: {
          x: { field: 'instructions', type: 'quantitative' },
          y: { field: 'ipc', type: 'quantitative' },
          shape: { field: 'source', type: 'nominal', title: 'published' },
        },
      },
    ],
  };
}

export async function figure1Command(argv: readonly string[]): Promise<number> {
  const o = parseModelOptions(argv, { points: { type: 'string' } });
  const names = o.profiles.length ? o.profiles : profileNames();
  const profiles = names.map(loadProfile);
  const points = o.values['points'] ? Number(o.values['points']) : 41;
  const rows = figure1Rows(profiles, figure1Axis(points));
  if (o.format === 'json') {
    const out = {
      profiles: profiles.map((p) => ({ name: p.name, title: p.title, baselineIpc: p.curve.baselineIpc, modeSwitchCycles: p.modeSwitchCycles, recovery: p.curve.terms })),
      paper: FIGURE1_PAPER,
      rows,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else if (o.format === 'csv') {
    process.stdout.write(csv(rows));
  } else {
    for (const p of profiles) {
      process.stdout.write(`${p.name}: ${p.title}\n  baseline user IPC ${p.curve.baselineIpc}, direct cost ${p.modeSwitchCycles} cycles per call\n`);
    }
    process.stdout.write('\n' + table(rows, ['profile', 'instructions', 'user_ipc', 'direct_only_ipc', 'direct_loss', 'indirect_loss']));
    process.stdout.write('\npublished (ATC 2011, Xalan with pwrite on the Core i7):\n');
    for (const p of FIGURE1_PAPER) process.stdout.write(`  ${p.instructions} instructions: user IPC ${p.ipc.toFixed(2)}\n`);
  }
  if (o.svg) writeFileSync(o.svg, await renderVegaLiteSvg(figure1Spec(rows)));
  return 0;
}
