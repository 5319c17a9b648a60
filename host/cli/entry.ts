#!/usr/bin/env node
// The `flexvm` command (dist/cli.js). Before the rest of flexvm loads, the entry looks at the
// command line (host/cli/startup-plan.ts) and prepares what the guest needs, so that it overlaps
// that loading (bench/suites/startup.ts measures it):
// - the V8 flags, which are process-wide and must precede any Wasm (host/vm/v8-flags.ts): guests
//   that all run on the native kernel keep Liftoff, others are compiled with TurboFan only;
// - a guest that runs on a worker: its worker starts now (host/vm/guest-worker-pool.ts). `flexvm
//   run` of one guest on the native kernel runs it on this thread instead (docs/startup.md), and the
//   native addon takes Ctrl-C and SIGTERM from now on (host/cli/main-thread-signals.ts).
import { keepLiftoff } from '../vm/v8-flags.js';
import { prestartGuestWorker } from '../vm/guest-worker-pool.js';
import { startupPlan } from './startup-plan.js';
import { startMainThreadSignals } from './main-thread-signals.js';

const plan = startupPlan(process.argv.slice(2));
if (plan.liftoff) keepLiftoff();
if (plan.spare !== false) prestartGuestWorker(plan.spare);
if (plan.mainThread) startMainThreadSignals(plan.mainThread);
await import('./main.js');
