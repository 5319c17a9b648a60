// The machine-checkable report of a test guest: one line per check on standard output,
// `ok NAME` or `not ok NAME DETAIL`, then `checks P passed F failed`. The host-side tests parse it
// (tests/helpers/e2e.ts); a guest exits non-zero when any check failed.

let passed = 0;
let failed = 0;

export function line(s: string): void {
  process.stdout.write(s + "\n");
}

export function pass(name: string): void {
  passed++;
  line("ok " + name);
}

export function fail(name: string, detail: string): void {
  failed++;
  line("not ok " + name + " " + detail);
}

export function check(name: string, cond: bool, detail: string = "condition false"): void {
  if (cond) pass(name);
  else fail(name, detail);
}

/** Passes when `got == want` (results are i64: -errno on failure). */
export function expect(name: string, got: i64, want: i64): void {
  if (got == want) pass(name);
  else fail(name, "got " + got.toString() + " want " + want.toString());
}

/** Passes when the call failed with exactly -errno. */
export function expectErr(name: string, got: i64, errno: i32): void {
  expect(name, got, -(<i64>errno));
}

/** Passes when the call succeeded (>= 0). */
export function expectOk(name: string, got: i64): void {
  if (got >= 0) pass(name);
  else fail(name, "failed with " + got.toString());
}

export function failures(): i32 {
  return failed;
}

/** Prints the summary line; returns `status`, or 1 if any check failed. */
export function summary(status: i32): i32 {
  line("checks " + passed.toString() + " passed " + failed.toString() + " failed");
  if (failed > 0) return status != 0 ? status : 1;
  return status;
}
