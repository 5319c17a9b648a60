// Progress of a long benchmark run with the time left: a bar (cli-progress) on a terminal, and on a
// log (CI, a file) a line at each tenth of the work, so that neither floods the other.
import cliProgress from 'cli-progress';

/** Work done in steps of equal expected cost (a point measured, a round finished). */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  private done = 0;
  private readonly started = Date.now();
  private lastTenth = 0;

  constructor(
    private readonly suite: string,
    private readonly total: number,
  ) {
    this.bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: `${suite} [{bar}] {value}/{total} | {eta_formatted} left | {detail}`, stream: process.stderr, hideCursor: true, etaBuffer: 20, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bar?.start(total, 0, { detail: '' });
  }

  /** One more step done; `detail` says what it was (the bar shows it, the log lines do not). */
  tick(detail = ''): void {
    this.done = Math.min(this.total, this.done + 1);
    if (this.bar) {
      this.bar.update(this.done, { detail });
      return;
    }
    const tenth = Math.floor((this.done * 10) / this.total);
    if (tenth > this.lastTenth || this.done === this.total) {
      this.lastTenth = tenth;
      const elapsed = (Date.now() - this.started) / 1000;
      const left = this.done > 0 ? (elapsed * (this.total - this.done)) / this.done : 0;
      process.stderr.write(`${this.suite}: ${this.done}/${this.total} (${Math.round((100 * this.done) / this.total)}%), ${formatSeconds(left)} left\n`);
    }
  }

  /** Ends the bar (a log says how long the whole run took). */
  stop(): void {
    this.bar?.stop();
    if (!this.bar) process.stderr.write(`${this.suite}: done in ${formatSeconds((Date.now() - this.started) / 1000)}\n`);
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}
