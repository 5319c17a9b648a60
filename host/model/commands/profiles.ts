// `flexvm model profiles`: each profile's parameters as the model uses them, with their sources.
import { loadProfile, profileNames } from '../profiles/profile.js';
import { parseModelOptions } from './options.js';

export async function profilesCommand(argv: readonly string[]): Promise<number> {
  const o = parseModelOptions(argv);
  const profiles = (o.profiles.length ? o.profiles : profileNames()).map(loadProfile);
  if (o.format === 'json') {
    process.stdout.write(JSON.stringify(profiles.map((p) => ({ ...p.file, resolved: { curve: p.curve, curveRmsError: p.curveRmsError, modeSwitchCycles: p.modeSwitchCycles } })), null, 2) + '\n');
    return 0;
  }
  for (const p of profiles) {
    const f = p.file;
    const lines = [
      `${p.name}: ${p.title}`,
      `  clock                 ${p.clockGHz} GHz  (${f.clockGHz.source})`,
      `  user baseline IPC     ${p.curve.baselineIpc}  (${f.userBaselineIpc.source})`,
      `  recovery curve        ${p.curve.terms.map((t) => `${t.amplitude.toFixed(3)} x exp(-t/${t.tauCycles.toFixed(0)})`).join(' + ')}, rms error ${p.curveRmsError.toFixed(3)} IPC  (${f.recovery.source})`,
      `  mode switch           ${p.modeSwitchCycles} cycles  (${f.modeSwitchCycles.source})`,
      `  cache-line transfer   ${p.cacheLineTransferCycles} cycles  (${f.cacheLineTransferCycles.source})`,
      `  wake-up               ${p.wakeupCycles} cycles  (${f.wakeupCycles.source})`,
      `  Wasm to x86           ${p.wasmToX86}  (${f.wasmToX86.source})`,
      `  kernel per call       ${Object.entries(p.kernelCalls).map(([n, c]) => `${n} ${c.instructions}/${c.cycles}`).join(', ')} (instructions/cycles)  (${f.kernel.source})`,
    ];
    for (const [k, v] of Object.entries(f.measured ?? {})) lines.push(`  measured: ${k.padEnd(14)} ${v.value}  (${v.source})`);
    process.stdout.write(lines.join('\n') + '\n\n');
  }
  return 0;
}
