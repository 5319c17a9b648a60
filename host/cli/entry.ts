#!/usr/bin/env node
// The `flexvm` command (dist/cli.js): for the commands that run a guest, the guest's worker starts
// first, so that Node's worker start-up overlaps the loading of the rest of flexvm on another
// core (host/vm/guest-worker-pool.ts; measured in bench/suites/startup.ts), then the command line runs.
// V8 flags first: they are process-wide and must precede any worker's Wasm (host/vm/v8-flags.ts).
import '../vm/v8-flags.js';
import { prestartGuestWorker } from '../vm/guest-worker-pool.js';

const args = process.argv.slice(2);
if (args[0] === 'run' || args[0] === 'demo' || args[0] === 'kv') {
  // The guest runner to load ahead: native's unless another kernel is asked for (demo: virtual).
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  const at = own.findIndex((a) => a === '--kernel' || a.startsWith('--kernel='));
  const kernel = at < 0 ? (args[0] === 'demo' ? 'virtual' : 'native') : own[at]!.includes('=') ? own[at]!.split('=')[1] : own[at + 1];
  prestartGuestWorker(kernel === 'native' ? 'native' : null);
}
await import('./main.js');
