// `flexvm model calibrate`: measures this host and writes its profile (host.json): what software can
// measure here fills the parameters it can; the rest are the Nehalem profile's, and say so.
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { profilesDir } from '../paths.js';
import type { ProfileFile } from '../profiles/profile.js';
import { parseModelOptions } from '../commands/options.js';
import { measureHost, type HostMeasurements } from './measure.js';
import { predictFraction, type FractionCheck } from '../core/host-check.js';
import { resolveProfile } from '../profiles/profile.js';

const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

export function hostProfile(m: HostMeasurements, base: ProfileFile, date: string): ProfileFile {
  const ghz = m.clockGHz > 0 ? m.clockGHz : 2.0;
  const how = `measured by \`flexvm model calibrate\` on ${date}`;
  const ratio = round(m.nativeInstructions / m.wasmInstructions, 3);
  const cycles = (ns: number): number => Math.round(ns * ghz);
  return {
    ...base,
    name: 'host',
    title: `this host: ${m.cpu}`,
    notes: [
      'No hardware counters here: user IPC and its recovery cannot be measured, so the baseline IPC, the recovery curve and the kernel per-call table are the Nehalem profile\'s. What calibrate measures replaces the rest.',
      'Wall times are the fastest of many short batches (a preempted batch is only ever slower); on a loaded or virtual machine they are still upper bounds.',
    ],
    clockGHz: { value: ghz, source: m.clockGHz > 0 ? `/proc/cpuinfo "cpu MHz" on ${date} (${m.cpu}); nominal, a VM reports its host's clock` : 'unknown (no /proc/cpuinfo clock): 2.0 GHz assumed' },
    modeSwitchCycles: { value: cycles(m.getppidNs), source: `${how}: a native getppid (the null call) takes ${m.getppidNs} ns, times the clock; it includes the trap, the mitigations of this kernel and the return, not the pipeline effects Figure 1 attributes to the user beyond them` },
    cacheLineTransferCycles: { value: cycles(m.cacheLineTransferNs), source: `${how}: two threads taking turns writing one cache line, ${m.cacheLineTransferNs} ns per turn` },
    wakeupCycles: { value: cycles(m.futexWakeNs), source: `${how}: a futex wake-up and the woken thread's answer, ${m.futexWakeNs} ns per wake-up (half the round trip)` },
    wasmToX86: { value: ratio, source: `${how}: the loops of host/model/calibrate/native/loops.c (gcc -O2, x86-64) execute ${m.nativeInstructions} instructions under callgrind; the same loops in loops.wat execute ${m.wasmInstructions} Wasm instructions counted by the instrumentation` },
    measured: {
      getppidNs: { value: m.getppidNs, source: how },
      pwrite64Ns: { value: m.pwriteNs, source: `${how}: a 64-byte pwrite to a file on /dev/shm` },
      cacheLineTransferNs: { value: m.cacheLineTransferNs, source: how },
      futexWakeNs: { value: m.futexWakeNs, source: how },
      wasmImportCallNs: { value: round(m.importCallNs, 2), source: `${how}: a Wasm function calling an imported JavaScript function in a loop, in this Node (${process.version})` },
      nativeLoopInstructions: { value: m.nativeInstructions, source: `${how}: callgrind` },
      wasmLoopInstructions: { value: m.wasmInstructions, source: `${how}: instrumented loops.wat` },
      ...Object.fromEntries(
        m.fractions.map((f) => [
          `fraction_${f.call}_${f.instructions}`,
          { value: f.fraction, source: `${how}: throughput a loop over 512 KB keeps with a ${f.call} every ${f.instructions} instructions (callgrind), ${f.plainNs} ns per interval without, ${f.withCallNs} ns with` },
        ]),
      ),
    },
  };
}

/** The model's prediction of each measured fraction, with the host profile's curve. */
export function checkFractions(m: HostMeasurements, profile: ProfileFile): FractionCheck[] {
  const p = resolveProfile(profile);
  return m.fractions.map((f) => predictFraction(p.curve, p.clockGHz, f, f.call === 'getppid' ? m.getppidNs : m.pwriteNs, f.call === 'getppid' ? 0 : 1));
}

export async function calibrateCommand(argv: readonly string[]): Promise<number> {
  const o = parseModelOptions(argv, { out: { type: 'string' } });
  const m = measureHost();
  const base = JSON.parse(readFileSync(join(profilesDir(), 'nehalem.json'), 'utf8')) as ProfileFile;
  const profile = hostProfile(m, base, new Date().toISOString().slice(0, 10));
  const out = (o.values['out'] as string | undefined) ?? join(profilesDir(), 'host.json');
  writeFileSync(out, JSON.stringify(profile, null, 2) + '\n');
  if (o.format === 'json') process.stdout.write(JSON.stringify(m, null, 2) + '\n');
  else {
    process.stdout.write(`measured on ${m.cpu} (${m.clockGHz} GHz):\n`);
    process.stdout.write(`  getppid ${m.getppidNs} ns, 64-byte pwrite ${m.pwriteNs} ns, cache-line transfer ${m.cacheLineTransferNs} ns, futex wake-up ${m.futexWakeNs} ns\n`);
    process.stdout.write(`  Wasm-to-JS import call ${m.importCallNs.toFixed(2)} ns\n`);
    process.stdout.write(`  loops: ${m.nativeInstructions} x86 instructions (callgrind) / ${m.wasmInstructions} Wasm instructions = ${profile.wasmToX86.value}\n`);
    process.stdout.write('throughput kept by a loop over 512 KB with a call every n instructions (kernel time included):\n');
    for (const c of checkFractions(m, profile)) {
      process.stdout.write(`  ${c.call.padEnd(8)} every ${c.instructions} instructions: measured ${(c.measured * 100).toFixed(1)}%, model ${(c.predicted * 100).toFixed(1)}% (the loop's own IPC ${c.loopIpc.toFixed(2)})\n`);
    }
    process.stdout.write(`wrote ${out}\n`);
  }
  return 0;
}
