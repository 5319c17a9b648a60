import { StdinRing } from '../kernel/common/stdin-ring.js';

/**
 * Feeds an embedder's Readable (`spawn({ stdin: process.stdin })`) into a guest's stdin ring, on the
 * VM's thread. It starts reading its source only once the guest asks for input (a server that never
 * reads fd 0 leaves the host's stdin alone), copies what fits, and pauses the source while the
 * ring is full: a guest that does not read makes the host stop reading, so nothing is buffered
 * without bound. At the source's end (or error) the ring ends and the guest reads end of file.
 * `stop` (the guest ended) lets go of the source: no listener stays, and the source is paused, so
 * an idle pipe or terminal does not keep the process alive.
 */
export class StdinFeeder {
  readonly ring = StdinRing.create();
  /** Bytes taken from the source but not yet in the ring (waiting for room). */
  private pending: Uint8Array | null = null;
  private sourceEnded = false;
  private reading = false;
  private stopped = false;

  constructor(private readonly source: NodeJS.ReadableStream) {
    this.ring.whenWanted(() => this.begin());
  }

  /** Lets go of the source (idempotent). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pending = null;
    if (!this.reading) {
      this.ring.want(); // ends the wait for demand (begin() then sees the feeder stopped)
      return;
    }
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.pause();
  }

  private begin(): void {
    if (this.stopped || this.reading) return;
    this.reading = true;
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.source.on('error', this.onError);
    this.source.resume();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    if (this.stopped) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const n = this.ring.put(bytes);
    if (n >= bytes.length) return this.checkReader();
    this.pending = bytes.subarray(n);
    this.source.pause();
    this.awaitRoom();
  };

  private readonly onEnd = (): void => {
    this.sourceEnded = true;
    if (this.pending === null) this.ring.end();
  };

  /** A source that fails ends the guest's input: it reads end of file, as after a broken pipe. */
  private readonly onError = (): void => {
    this.pending = null;
    this.onEnd();
  };

  /** Puts the pending bytes in as the guest takes bytes out; resumes the source once all are in. */
  private awaitRoom(): void {
    const seen = this.ring.readGeneration();
    const pending = this.pending;
    if (pending === null || this.stopped) return;
    const n = this.ring.put(pending);
    if (n < pending.length) {
      this.pending = pending.subarray(n);
      this.ring.whenTaken(seen, () => this.awaitRoom());
      return;
    }
    this.pending = null;
    if (this.sourceEnded) this.ring.end();
    else {
      this.source.resume();
      this.checkReader();
    }
  }

  /** The reader went away (the guest closed fd 0): stop reading, as a writer to a closed pipe would. */
  private checkReader(): void {
    if (this.ring.closed) this.stop();
  }
}
