// Reads back what an instrumented guest counted (its probe globals, reported with its exit).

export interface CallKindCount {
  readonly calls: number;
  /** Instructions executed since the previous call, summed over the calls of this kind. */
  readonly instructionsBefore: number;
}

export interface InstructionCount {
  /** Wasm instructions the guest executed in all. */
  readonly total: number;
  /** Per call kind (ABI call name, or wasi:NAME), calls made through imports only. */
  readonly byKind: Readonly<Record<string, CallKindCount>>;
  /** Calls made through imports (sync and epoll modes make every call so). */
  readonly importCalls: number;
}

export function readProbes(probes: Readonly<Record<string, number>> | undefined): InstructionCount | null {
  if (!probes || probes['instructions'] === undefined) return null;
  const byKind: Record<string, CallKindCount> = {};
  let importCalls = 0;
  for (const [key, value] of Object.entries(probes)) {
    const m = /^calls:(.+)$/.exec(key);
    if (!m || value === 0) continue;
    const kind = m[1]!;
    byKind[kind] = { calls: value, instructionsBefore: probes[`instr:${kind}`] ?? 0 };
    importCalls += value;
  }
  return { total: probes['instructions']!, byKind, importCalls };
}
