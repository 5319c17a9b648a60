// Instruction counting: rewrites a guest's Wasm with Binaryen so that it counts the Wasm instructions
// it executes, in total and between consecutive system calls, by call type.
//
// What counts as an instruction: every instruction the engine executes except the structural
// `block`, `loop`, `end`, `else` and `nop`, which compile to no machine code. `if`, `br`, `br_if`,
// `br_table`, `return`, `call` and `unreachable` count once each time they execute.
//
// How: a mutable i64 global is incremented by straight-line runs of code, charged once before the run
// starts (a run never contains a branch, or a call of a system-call import, except as its last
// instruction, so it executes whole; a trap can over-count by the rest of its run). Expressions whose
// operands contain control flow are split through temporary locals so that the operator itself is
// charged only after its operands completed. The counting code itself is not counted.
//
// System calls are the guest's imports: `flexvm.syscall` and `flexvm.yield` (one call per mode switch,
// its number read from the entry), and the WASI imports (each its own kind). Every call site of those
// imports goes through a generated wrapper that adds the instructions since the previous call to the
// call's kind. In exceptionless mode calls are memory writes, not imports: only the total is exact
// there, and the calls come from the run's statistics.
import binaryen from 'binaryen';
import { E_SYSNO, SYSCALLS } from '../../abi/v1.js';
import { childSlots } from './children.js';
import { PROBE_EXPORT_PREFIX } from '../../guest/guest-instance.js';

type Ref = number;
const b = binaryen;

/** The per-kind accessor classes of Binaryen's JS API, which its type declarations leave out. */
interface Classes {
  Loop: { getBody(e: Ref): Ref; setBody(e: Ref, body: Ref): void };
  If: { getCondition(e: Ref): Ref; setCondition(e: Ref, c: Ref): void; getIfTrue(e: Ref): Ref; setIfTrue(e: Ref, c: Ref): void; getIfFalse(e: Ref): Ref; setIfFalse(e: Ref, c: Ref): void };
  Block: { setChildren(e: Ref, children: Ref[]): void };
  Function: { getBody(f: binaryen.FunctionRef): Ref; setBody(f: binaryen.FunctionRef, body: Ref): void };
  Call: { getTarget(e: Ref): string; setTarget(e: Ref, target: string): void };
}
const k = binaryen as unknown as Classes;

/** Export names of the counters the instrumented module exposes (read back by ./probes.ts). */
export const PROBE_PREFIX = PROBE_EXPORT_PREFIX;
export const PROBE_TOTAL = `${PROBE_PREFIX}instructions`;
export const probeCalls = (kind: string): string => `${PROBE_PREFIX}calls:${kind}`;
export const probeInstructions = (kind: string): string => `${PROBE_PREFIX}instr:${kind}`;
/** Kind for a flexvm.syscall/yield whose number is not in the ABI. */
export const OTHER_CALL = 'other';

const STRUCTURAL = new Set([b.BlockId, b.LoopId, b.NopId]);
const TRANSFERS = new Set([b.BreakId, b.SwitchId, b.ReturnId, b.UnreachableId]);

interface Info {
  /** Instructions in the subtree (structural ones excluded). */
  readonly cost: number;
  /** No block, loop or if in the subtree, and no branch except at its root: it runs whole or not at all. */
  readonly simple: boolean;
}

class FunctionCounter {
  private readonly info = new Map<Ref, Info>();
  readonly newLocals: number[] = [];

  constructor(
    private readonly mod: binaryen.Module,
    private readonly counter: string,
    private readonly firstFreeLocal: number,
    /** Functions (system-call imports) whose calls end a run, so the counter is exact when they start. */
    private readonly boundaries: ReadonlySet<string>,
  ) {}

  /** Branches, and calls of system-call imports: nothing after them in a run may be charged before them. */
  private endsRun(e: Ref): boolean {
    const id = b.getExpressionId(e);
    return TRANSFERS.has(id) || (id === b.CallId && this.boundaries.has(k.Call.getTarget(e)));
  }

  private analyze(e: Ref): Info {
    const known = this.info.get(e);
    if (known) return known;
    const id = b.getExpressionId(e);
    let cost = STRUCTURAL.has(id) ? 0 : 1;
    let simple = id !== b.BlockId && id !== b.LoopId && id !== b.IfId;
    if (id === b.LoopId) cost += this.analyze(k.Loop.getBody(e)).cost;
    if (id === b.IfId) {
      // Never simple; the cost only matters for simple trees, so the arms need not be summed.
      this.analyze(k.If.getIfTrue(e));
      const f = k.If.getIfFalse(e);
      if (f) this.analyze(f);
    }
    for (const slot of childSlots(e)) {
      const c = slot.get();
      const ci = this.analyze(c);
      cost += ci.cost;
      if (!ci.simple || this.endsRun(c)) simple = false;
    }
    const result = { cost, simple };
    this.info.set(e, result);
    return result;
  }

  private inc(n: number): Ref {
    const m = this.mod;
    return m.global.set(this.counter, m.i64.add(m.global.get(this.counter, b.i64), m.i64.const(BigInt(n) as unknown as number)));
  }

  private withInc(n: number, e: Ref): Ref {
    return n > 0 ? this.mod.block(null, [this.inc(n), e], b.auto) : e;
  }

  private temp(type: number): number {
    this.newLocals.push(type);
    return this.firstFreeLocal + this.newLocals.length - 1;
  }

  /** `e` rewritten to count its own executed instructions. */
  instrument(e: Ref): Ref {
    const info = this.analyze(e);
    if (info.simple) return this.withInc(info.cost, e);
    const id = b.getExpressionId(e);
    if (id === b.BlockId) return this.instrumentBlock(e);
    if (id === b.LoopId) {
      k.Loop.setBody(e, this.instrument(k.Loop.getBody(e)));
      return e;
    }
    if (id === b.IfId) return this.instrumentIf(e);
    return this.instrumentOperator(e);
  }

  private instrumentBlock(e: Ref): Ref {
    const out: Ref[] = [];
    let run: Ref[] = [];
    let runCost = 0;
    const flush = (): void => {
      if (runCost > 0) out.push(this.inc(runCost));
      out.push(...run);
      run = [];
      runCost = 0;
    };
    for (const slot of childSlots(e)) {
      const c = slot.get();
      const ci = this.analyze(c);
      if (ci.simple) {
        run.push(c);
        runCost += ci.cost;
        if (this.endsRun(c)) flush();
      } else {
        flush();
        out.push(this.instrument(c));
      }
    }
    flush();
    k.Block.setChildren(e, out);
    return e;
  }

  private instrumentIf(e: Ref): Ref {
    const cond = k.If.getCondition(e);
    const ifFalse = k.If.getIfFalse(e);
    k.If.setIfTrue(e, this.instrument(k.If.getIfTrue(e)));
    if (ifFalse) k.If.setIfFalse(e, this.instrument(ifFalse));
    const ci = this.analyze(cond);
    if (ci.simple) return this.withInc(ci.cost + 1, e);
    // The condition branches inside: count it on its own, and the `if` at the start of each arm.
    k.If.setCondition(e, this.instrument(cond));
    k.If.setIfTrue(e, this.mod.block(null, [this.inc(1), k.If.getIfTrue(e)], b.auto));
    k.If.setIfFalse(e, ifFalse ? this.mod.block(null, [this.inc(1), k.If.getIfFalse(e)], b.auto) : this.mod.block(null, [this.inc(1)], b.auto));
    return e;
  }

  /** An operator (or branch, call...) with operands that contain control flow. */
  private instrumentOperator(e: Ref): Ref {
    const stmts: Ref[] = [];
    for (const slot of childSlots(e)) {
      const c = slot.get();
      const type = b.getExpressionType(c);
      const counted = this.instrument(c);
      if (type === b.unreachable) {
        // The operand never completes: the operator and the operands after it never run.
        stmts.push(counted);
        return this.mod.block(null, stmts, b.auto);
      }
      const local = this.temp(type);
      stmts.push(this.mod.local.set(local, counted));
      slot.set(this.mod.local.get(local, type));
    }
    stmts.push(this.inc(1), e);
    return this.mod.block(null, stmts, b.auto);
  }
}

export interface InstrumentOptions {
  /** Import functions treated as system calls: module name -> how each is keyed. Default: flexvm + WASI. */
  readonly callImports?: (module: string, base: string) => 'entry' | 'named' | null;
}

const defaultCallImports = (module: string, base: string): 'entry' | 'named' | null => {
  if (module === 'flexvm' && (base === 'syscall' || base === 'yield')) return 'entry';
  if (module === 'wasi_snapshot_preview1') return 'named';
  return null;
};

/** Counting state of a call kind: two exported i64 globals. */
function addKindGlobals(mod: binaryen.Module, kind: string): { calls: string; instr: string } {
  const calls = `flexvm_model_calls_${kind}`;
  const instr = `flexvm_model_instr_${kind}`;
  mod.addGlobal(calls, b.i64, true, mod.i64.const(0n as unknown as number));
  mod.addGlobal(instr, b.i64, true, mod.i64.const(0n as unknown as number));
  mod.addGlobalExport(calls, probeCalls(kind));
  mod.addGlobalExport(instr, probeInstructions(kind));
  return { calls, instr };
}

/** The instrumented module's bytes. Throws if the module uses something the counter cannot handle. */
export function instrumentWasm(bytes: Uint8Array, options: InstrumentOptions = {}): Uint8Array {
  const mod = b.readBinary(bytes);
  try {
    mod.setFeatures(b.Features.All);
    const classify = options.callImports ?? defaultCallImports;
    const counter = 'flexvm_model_instructions';
    const last = 'flexvm_model_last';
    mod.addGlobal(counter, b.i64, true, mod.i64.const(0n as unknown as number));
    mod.addGlobal(last, b.i64, true, mod.i64.const(0n as unknown as number));
    mod.addGlobalExport(counter, PROBE_TOTAL);

    const boundaries = new Set<string>();
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = b.getFunctionInfo(mod.getFunctionByIndex(i));
      if (info.module && info.base && classify(info.module, info.base)) boundaries.add(info.name);
    }

    // Count every defined function's body.
    const defined: binaryen.FunctionInfo[] = [];
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = b.getFunctionInfo(mod.getFunctionByIndex(i));
      if (!info.module) defined.push(info);
    }
    for (const f of defined) {
      const ref = mod.getFunction(f.name);
      const params = b.expandType(f.params).length;
      const counterOf = new FunctionCounter(mod, counter, params + f.vars.length, boundaries);
      const body = counterOf.instrument(k.Function.getBody(ref));
      if (counterOf.newLocals.length === 0) {
        k.Function.setBody(ref, body);
        continue;
      }
      // Binaryen's JS API cannot add locals to a function: re-create it under the same name.
      mod.removeFunction(f.name);
      mod.addFunction(f.name, f.params, f.results, [...f.vars, ...counterOf.newLocals], body);
    }

    // Route every call of a system-call import through a wrapper that books the interval.
    const m = mod;
    const interval = (kindGlobals: { calls: string; instr: string }): Ref[] => [
      m.global.set(kindGlobals.calls, m.i64.add(m.global.get(kindGlobals.calls, b.i64), m.i64.const(BigInt(1) as unknown as number))),
      m.global.set(kindGlobals.instr, m.i64.add(m.global.get(kindGlobals.instr, b.i64), m.i64.sub(m.global.get(counter, b.i64), m.global.get(last, b.i64)))),
    ];
    const wrappers = new Map<string, string>();
    const entryKinds = new Map<string, { calls: string; instr: string }>();
    const entryKind = (name: string): { calls: string; instr: string } => {
      let k = entryKinds.get(name);
      if (!k) entryKinds.set(name, (k = addKindGlobals(mod, name)));
      return k;
    };
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = b.getFunctionInfo(mod.getFunctionByIndex(i));
      if (!info.module || !info.base) continue;
      const how = classify(info.module, info.base);
      if (!how) continue;
      const params = b.expandType(info.params);
      const forward = m.call(info.name, params.map((t, j) => m.local.get(j, t)), info.results);
      let book: Ref[];
      if (how === 'named') {
        book = interval(addKindGlobals(mod, `wasi:${info.base}`));
      } else {
        // Dispatch on the entry's call number (read from the entry: the first parameter).
        const nr = m.i32.load(E_SYSNO, 4, m.local.get(0, b.i32));
        let chain: Ref = m.block(null, interval(entryKind(OTHER_CALL)), b.auto);
        for (const s of [...SYSCALLS].reverse()) {
          chain = m.if(m.i32.eq(nr, m.i32.const(s.nr)), m.block(null, interval(entryKind(s.name)), b.auto), chain);
        }
        book = [chain];
      }
      const wrapper = `flexvm_model_wrap_${info.module}_${info.base}`;
      const resultType = info.results;
      const body = resultType === b.none
        ? m.block(null, [...book, m.global.set(last, m.global.get(counter, b.i64)), forward], b.auto)
        : m.block(null, [...book, m.global.set(last, m.global.get(counter, b.i64)), m.return(forward)], resultType);
      mod.addFunction(wrapper, info.params, info.results, [], body);
      wrappers.set(info.name, wrapper);
    }
    if (wrappers.size) {
      for (const f of defined) {
        const ref = mod.getFunction(f.name);
        retargetCalls(k.Function.getBody(ref), wrappers);
      }
    }
    if (!mod.validate()) throw new Error('the instrumented module does not validate');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** Points every call of a wrapped import at its wrapper. */
function retargetCalls(e: Ref, wrappers: ReadonlyMap<string, string>): void {
  const id = b.getExpressionId(e);
  if (id === b.CallId) {
    const w = wrappers.get(k.Call.getTarget(e));
    if (w) k.Call.setTarget(e, w);
  }
  if (id === b.LoopId) retargetCalls(k.Loop.getBody(e), wrappers);
  if (id === b.IfId) {
    retargetCalls(k.If.getIfTrue(e), wrappers);
    const f = k.If.getIfFalse(e);
    if (f) retargetCalls(f, wrappers);
  }
  for (const slot of childSlots(e)) retargetCalls(slot.get(), wrappers);
}
