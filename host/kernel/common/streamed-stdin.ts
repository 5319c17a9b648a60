import { EAGAIN, O_RDONLY, POLLHUP, POLLIN } from '../../abi/v1.js';
import { Description } from './description.js';
import type { ByteSink } from './iovec.js';
import type { StatInfo } from './stat.js';
import type { StdinRing } from './stdin-ring.js';

/**
 * fd 0 read from a stream (ProcessSpec.stdinRing), in the virtual and os kernels: a read takes what
 * has arrived, returns -EAGAIN while nothing has (the kernel parks a blocking read, and this
 * description tells its watchers when input arrives), and 0 once the source ended and the ring is
 * empty, as the read end of a pipe does. poll: POLLIN with bytes buffered; POLLIN | POLLHUP at the
 * end (a read returns 0 at once: readable, and the writer has gone); nothing while waiting.
 *
 * Input arrives from outside any system call (a waitAsync callback on the syscall thread's event
 * loop): `settle` then runs the retries that its notification queued, as the kernel's scheduler
 * needs (the virtual kernel flushes only from inside calls, like a standard stream's drain).
 */
export class StreamedStdin extends Description {
  /** A wake-up is armed (at most one at a time, however many calls wait). */
  private waiting = false;

  constructor(
    private readonly ring: StdinRing,
    private readonly info: StatInfo,
    private readonly settle: () => void = () => {},
  ) {
    super(O_RDONLY);
  }

  override read(sink: ByteSink, peek: boolean): number {
    if (sink.length === 0) return 0;
    const seen = this.ring.writeGeneration();
    const bytes = this.ring.take(sink.length, peek);
    if (bytes !== null) {
      sink.write(0, bytes);
      return bytes.length;
    }
    if (this.ring.ended) return 0;
    this.awaitInput(seen);
    return -EAGAIN;
  }

  poll(): number {
    const seen = this.ring.writeGeneration();
    const ended = this.ring.ended;
    if (this.ring.available() > 0) return ended ? POLLIN | POLLHUP : POLLIN;
    if (ended) return POLLIN | POLLHUP;
    this.awaitInput(seen);
    return 0;
  }

  stat(): StatInfo {
    return this.info;
  }

  override release(): void {
    this.ring.closeReader();
    super.release();
  }

  /** Asks for input and tells the watchers (parked reads, poll, epoll) once some arrived or the source ended. */
  private awaitInput(seen: number): void {
    this.ring.want();
    if (this.waiting || this.released) return;
    this.waiting = true;
    this.ring.whenWritten(seen, () => {
      this.waiting = false;
      if (this.released) return;
      this.changed();
      this.settle();
    });
  }
}
