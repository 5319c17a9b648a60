// A sequencer for test guests: AssemblyScript has no closures, so a test is a list of steps
// (top-level functions). A step receives the previous call's result and either submits exactly one
// call with the request `S` (the next step runs from S's handler) or calls `next()` itself.
// Every step runs with `depth` raised, so a handler that ran inside a submit call would notice.
import * as flexsc from "../../../guest/flexsc";
import { fail } from "./report";

export type Step = (res: i64) => void;

const steps = new Array<Step>();
let at = 0;

/** > 0 while a step (and so any submit call it makes) is running. */
export let depth = 0;
/** Handlers that found themselves running inside a submit call (must stay 0). */
export let nestedHandlers = 0;

/** Handlers call this first: records a handler run from inside a submit call. */
export function enterHandler(): void {
  if (depth > 0) nestedHandlers++;
}

function onStep(r: flexsc.Request): void {
  enterHandler();
  next(r.result);
}

/** The sequencer's request: submit a step's call with it. */
export const S = new flexsc.Request(onStep);

export function step(s: Step): void {
  steps.push(s);
}

/** Runs the next step with `res` (the previous call's result). */
export function next(res: i64): void {
  if (at >= steps.length) return;
  const s = steps[at++];
  depth++;
  s(res);
  depth--;
}

/** Steps not run yet (0 once the sequence finished). */
export function remaining(): i32 {
  return steps.length - at;
}

/** Submit wrappers return 0 or -errno; a refused step submission is reported and skipped over. */
export function submitted(rc: i32, what: string): void {
  if (rc != 0) {
    fail("submit-" + what, "refused with " + rc.toString());
    next(<i64>rc);
  }
}
