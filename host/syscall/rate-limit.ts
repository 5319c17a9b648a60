/**
 * Diagnostics a guest can trigger (a tail that jumps, a call that breaks the kernel, a listen that
 * fails) are printed through a token bucket: a burst of lines, then a few a second; what is held back
 * is counted, said with the next line that passes, and reported in the guest's statistics. A guest in
 * a loop must not be able to flood the host's log (36,374 lines in 6 s before this).
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  /** Lines held back since the last one that passed. */
  private held = 0;
  /** Lines offered and lines held back, in all. */
  offered = 0;
  suppressed = 0;

  constructor(
    private readonly burst = 10,
    private readonly perSecond = 1,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** The line to print now (with how many were held back before it), or null to hold it back. */
  admit(line: string): string | null {
    this.offered++;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) {
      this.held++;
      this.suppressed++;
      return null;
    }
    this.tokens--;
    if (this.held === 0) return line;
    const out = `${line} (${this.held} similar line${this.held === 1 ? '' : 's'} suppressed)`;
    this.held = 0;
    return out;
  }
}
