import { setFlagsFromString } from 'node:v8';

// V8 11.3's baseline compiler (Liftoff) miscompiles a Wasm atomic wait loop that follows a store:
// such a guest spins forever although the word it waits for changed.
// Guest modules are compiled with the optimizing compiler only. V8 flags are process-wide, so this
// must run before any guest module is compiled; importing the VM module does it.
// FLEXVM_LIFTOFF=1 keeps Liftoff, to check that guests' wait loops do not depend on this.
if (process.env['FLEXVM_LIFTOFF'] !== '1') setFlagsFromString('--no-liftoff');
