import { lazyBuiltin } from '../lazy-builtin.js';

// node:v8 (with the modules it loads) only where a flag is set: not on the CLI's fast path.
const v8 = lazyBuiltin<typeof import('node:v8')>('node:v8');

// V8 11.3's baseline compiler (Liftoff) miscompiles a Wasm atomic wait loop that follows a store:
// such a guest spins forever although the word it waits for changed. Guest modules are compiled
// with the optimizing compiler only, unless every guest of the process sleeps through the native
// kernel's flexvm.wait (an import, no Wasm wait loop: the CLI on the native kernel, keepLiftoff).
// V8 flags are process-wide, so this must run before any guest module is compiled; importing the
// VM module does it. FLEXVM_LIFTOFF=1 keeps Liftoff, to check that guests' wait loops do not depend
// on this; FLEXVM_LIFTOFF=0 turns it off even where the CLI would keep it (bench/suites/startup.ts).
let keep = process.env['FLEXVM_LIFTOFF'] === '1';
const never = process.env['FLEXVM_LIFTOFF'] === '0';
let applied = false;

/**
 * Keeps Liftoff (fast compilation, TurboFan later for what runs hot): only for a process whose
 * guests all run on the native kernel, and only before the VM module is imported (the CLI's entry).
 */
export function keepLiftoff(): void {
  if (applied) throw new Error('keepLiftoff: the V8 flags are already set');
  keep = !never;
}

/** Sets the flags once (the VM module calls it as it loads). */
export function applyV8Flags(): void {
  if (applied) return;
  applied = true;
  if (!keep) v8().setFlagsFromString('--no-liftoff');
}
