// Deterministic minimisers for the model's fits: no randomness, fixed starting points and iteration
// counts, so a fit gives the same parameters on every run and every machine.

/** Nelder-Mead simplex minimisation of `f` from `start` (initial steps `step`), at most `iterations` rounds. */
export function nelderMead(f: (x: readonly number[]) => number, start: readonly number[], step: readonly number[], iterations = 4000): number[] {
  const n = start.length;
  let simplex: { x: number[]; v: number }[] = [{ x: [...start], v: f(start) }];
  for (let i = 0; i < n; i++) {
    const x = [...start];
    x[i]! += step[i]!;
    simplex.push({ x, v: f(x) });
  }
  const combine = (a: readonly number[], b: readonly number[], t: number): number[] => a.map((ai, i) => ai + t * (b[i]! - ai));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((p, q) => p.v - q.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    // Converged: the values at the simplex's corners agree to 1e-12 (relative).
    if (worst.v - best.v <= 1e-12 * Math.max(1e-12, Math.abs(best.v))) break;
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += simplex[i]!.x[j]! / n;
    const reflected = combine(centroid, worst.x, -1);
    const rv = f(reflected);
    if (rv < best.v) {
      const expanded = combine(centroid, worst.x, -2);
      const ev = f(expanded);
      simplex[n] = ev < rv ? { x: expanded, v: ev } : { x: reflected, v: rv };
    } else if (rv < simplex[n - 1]!.v) {
      simplex[n] = { x: reflected, v: rv };
    } else {
      const contracted = combine(centroid, worst.x, 0.5);
      const cv = f(contracted);
      if (cv < worst.v) simplex[n] = { x: contracted, v: cv };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: combine(best.x, p.x, 0.5), v: f(combine(best.x, p.x, 0.5)) }));
    }
  }
  simplex.sort((p, q) => p.v - q.v);
  return simplex[0]!.x;
}

/** Golden-section minimisation of a one-dimensional `f` on [lo, hi]. */
export function goldenSection(f: (x: number) => number, lo: number, hi: number, iterations = 200): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  for (let i = 0; i < iterations; i++) {
    if (f(c) < f(d)) b = d;
    else a = c;
    c = b - g * (b - a);
    d = a + g * (b - a);
  }
  return (a + b) / 2;
}

/** The x in [lo, hi] where the increasing function `f` reaches `target` (bisection). */
export function solveIncreasing(f: (x: number) => number, target: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  while (f(b) < target) b *= 2;
  for (let i = 0; i < 200 && b - a > 1e-9 * Math.max(1, b); i++) {
    const m = (a + b) / 2;
    if (f(m) < target) a = m;
    else b = m;
  }
  return (a + b) / 2;
}
