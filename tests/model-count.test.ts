// Instruction counting (host/model/count): exact on small programs whose counts are known by hand,
// the calls of system-call imports booked by kind with the instructions since the previous call, and
// an instrumented module computes exactly what the original does.
import binaryen from 'binaryen';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instrumentWasm, PROBE_TOTAL, PROBE_PREFIX } from '../host/model/count/instrument.js';
import { readProbes } from '../host/model/count/probes.js';
import { wasmLoopInstructions } from '../host/model/calibrate/measure.js';

function build(wat: string): Uint8Array {
  const m = binaryen.parseText(wat);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
}

const counted = (inst: WebAssembly.Instance, run: () => unknown): number => {
  const g = inst.exports[PROBE_TOTAL] as WebAssembly.Global;
  g.value = 0n;
  run();
  return Number(g.value);
};

const PROGRAMS = `(module
 (memory 1)
 ;; per iteration: br_if (4), add (4), increment (4), br (1) = 13; the exit test 4; the result 1
 (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
  (block $done (loop $top
     (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
     (local.set $s (i32.add (local.get $s) (local.get $i)))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br $top)))
  (local.get $s))
 ;; a value-producing if inside an operator: cond 1 + if 1 + arm (1 or 3) + const 1 + add 1
 (func (export "pick") (param $x i32) (result i32)
  (i32.add (if (result i32) (local.get $x) (then (i32.const 10)) (else (i32.mul (local.get $x) (i32.const 3)))) (i32.const 1)))
 ;; br_table: local.get 1 + br_table 1, then the chosen arm's const (1) + return (1), or none
 (func (export "table") (param $x i32) (result i32)
  (block $c (block $b (block $a (br_table $a $b $c (local.get $x)))
    (return (i32.const 1)))
   (return (i32.const 2)))
  (i32.const 3))
 ;; a call: the caller's 3 (local.get, call, drop... here local.get + call + local.get? see below) plus the callee's
 (func $twice (param $x i32) (result i32) (i32.shl (local.get $x) (i32.const 1)))
 (func (export "calls") (param $x i32) (result i32) (call $twice (call $twice (local.get $x))))
 ;; a branch out of an operand: the operator after it never runs
 (func (export "early") (param $x i32) (result i32)
  (block $out (result i32)
   (drop (i32.add (br_if $out (i32.const 7) (local.get $x)) (i32.const 1)))
   (i32.const 0)))
)`;

test('counts exactly: a loop, an if in an expression, br_table, calls, a branch out of an operand', () => {
  const original = build(PROGRAMS);
  const inst = instantiate(instrumentWasm(original));
  const plain = instantiate(original);
  const e = inst.exports as Record<string, (x: number) => number>;
  const p = plain.exports as Record<string, (x: number) => number>;
  for (const n of [0, 1, 10, 1000]) {
    assert.is(counted(inst, () => e['sum']!(n)), 13 * n + 5, `sum(${n})`);
    assert.is(e['sum']!(n), p['sum']!(n));
  }
  assert.is(counted(inst, () => e['pick']!(0)), 7);
  assert.is(counted(inst, () => e['pick']!(5)), 5);
  assert.is(e['pick']!(5), 11);
  assert.is(counted(inst, () => e['table']!(0)), 4, 'br_table to $a: then const + return');
  assert.is(counted(inst, () => e['table']!(1)), 4, 'br_table to $b');
  assert.is(counted(inst, () => e['table']!(2)), 3, 'br_table to $c: then the final const');
  assert.is(e['table']!(1), 2);
  // calls: local.get + call + call = 3 in the caller, 3 per callee run.
  assert.is(counted(inst, () => e['calls']!(3)), 9);
  assert.is(e['calls']!(3), 12);
  // early: const, local.get, br_if (3); taken: nothing more. Not taken: const 1, add, drop, const 0 (4 more).
  assert.is(counted(inst, () => e['early']!(1)), 3);
  assert.is(counted(inst, () => e['early']!(0)), 7);
  assert.is(e['early']!(1), 7);
});

test('the calibration loops count the same every time (deterministic)', () => {
  const a = wasmLoopInstructions(3);
  assert.is(wasmLoopInstructions(3), a);
  assert.ok(a > 3 * 4096 * 10, `${a}`);
});

test('system-call imports are booked by kind with the instructions since the previous call', () => {
  const wat = `(module
   (import "flexvm" "syscall" (func $sys (param i32)))
   (import "wasi_snapshot_preview1" "fd_write" (func $fdw (param i32 i32 i32 i32) (result i32)))
   (memory (export "memory") 1)
   (func (export "go")
    ;; entry at 64: call number 0 (read) then 1 (write)
    (i32.store offset=4 (i32.const 64) (i32.const 0))   ;; 3
    (call $sys (i32.const 64))                          ;; 2: read, after 5
    (i32.store offset=4 (i32.const 64) (i32.const 1))   ;; 3
    (nop)
    (call $sys (i32.const 64))                          ;; 2: write, after 5
    (drop (call $fdw (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))  ;; 6: fd_write, after 5 (the drop comes after)
  ))`;
  const log: number[] = [];
  const mem = { current: null as WebAssembly.Memory | null };
  const inst = instantiate(instrumentWasm(build(wat)), {
    flexvm: { syscall: (entry: number) => log.push(new DataView(mem.current!.buffer).getInt32(entry + 4, true)) },
    wasi_snapshot_preview1: { fd_write: () => 0 },
  });
  mem.current = inst.exports['memory'] as WebAssembly.Memory;
  (inst.exports['go'] as () => void)();
  assert.equal(log, [0, 1], 'the imports still run, in order');
  const probes: Record<string, number> = {};
  for (const [k, v] of Object.entries(inst.exports)) if (k.startsWith(PROBE_PREFIX)) probes[k.slice(PROBE_PREFIX.length)] = Number((v as WebAssembly.Global).value);
  const r = readProbes(probes)!;
  assert.is(r.total, 16);
  assert.equal(r.byKind['read'], { calls: 1, instructionsBefore: 5 });
  assert.equal(r.byKind['write'], { calls: 1, instructionsBefore: 5 });
  assert.equal(r.byKind['wasi:fd_write'], { calls: 1, instructionsBefore: 5 });
  assert.is(r.importCalls, 3);
});

test('a module the counter cannot handle is refused, not miscounted', () => {
  assert.throws(() => instrumentWasm(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 2])));
});

test.run();
