import type * as Net from 'node:net';
import { lazyBuiltin } from '../../lazy-builtin.js';
import { StdinRing } from '../common/stdin-ring.js';
import { STDIO_QUEUE_LIMIT } from '../kernel.js';

// Only a guest on a worker has piped streams (one on the CLI's main thread writes to the host's own).
const net = lazyBuiltin<typeof Net>('node:net');

/** How full the embedder's sinks are (the VM's per-stream counters of bytes not yet taken). */
export interface SinkPressure {
  queued(fd: 1 | 2): number;
  /** Calls `then` once queued(fd) may have dropped. */
  whenDrained(fd: 1 | 2, then: () => void): void;
}

/**
 * The host's ends of a native guest's standard streams (pipes the addon made at attach): what the
 * guest writes on 1 and 2 goes to the embedder's sinks, the spawn's stdin is written into 0 and
 * closed (then EOF), or a streamed stdin is moved from its ring into 0 as it arrives. Real pipes: once STDIO_QUEUE_LIMIT bytes of a stream wait for its sink, the
 * host stops reading that pipe until the sink takes some, so the pipe fills and a guest that writes
 * faster than the sink takes waits (or gets EAGAIN), as a process writing to a full pipe does.
 */
export class GuestStreams {
  private readonly outputs: Net.Socket[] = [];
  private readonly ended: Promise<void>[] = [];
  /** The guest has gone: read what is left whatever the sinks' state. */
  private leaving = false;
  /** A streamed stdin, moved from its ring into the guest's pipe. */
  private readonly stdinPump: RingToPipe | null = null;

  constructor(
    fds: readonly [number, number, number],
    stdin: Uint8Array | StdinRing | null,
    sink: (fd: 1 | 2, data: Uint8Array) => void,
    pressure?: SinkPressure,
  ) {
    const input = new (net().Socket)({ fd: fds[0], readable: false, writable: true });
    if (stdin instanceof StdinRing) {
      this.stdinPump = new RingToPipe(stdin, input);
    } else {
      input.on('error', () => {}); // the guest left without reading it all: EPIPE, nothing to report
      if (stdin && stdin.length) input.end(stdin);
      else input.destroy();
    }
    for (const fd of [1, 2] as const) {
      const s = new (net().Socket)({ fd: fds[fd], readable: true, writable: false });
      // Reading stops while the sink is full; a drain that leaves it full waits for the next one.
      const resumeWhenRoom = (): void => {
        if (this.leaving || pressure!.queued(fd) < STDIO_QUEUE_LIMIT) s.resume();
        else pressure!.whenDrained(fd, resumeWhenRoom);
      };
      s.on('data', (d: Buffer) => {
        sink(fd, new Uint8Array(d.buffer, d.byteOffset, d.length));
        if (pressure && !this.leaving && pressure.queued(fd) >= STDIO_QUEUE_LIMIT && !s.isPaused()) {
          s.pause();
          pressure.whenDrained(fd, resumeWhenRoom);
        }
      });
      s.on('error', () => {});
      this.outputs.push(s);
      this.ended.push(new Promise((r) => s.once('close', () => r())));
    }
  }

  /** Resolves once both outputs reached EOF (the guest's ends are closed), or after `ms`. */
  async drained(ms = 1000): Promise<void> {
    // The guest has gone: what is left is at most a pipe's capacity, so take it whatever the sink's state.
    this.leaving = true;
    this.stdinPump?.stop();
    for (const s of this.outputs) s.resume();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.ended), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    for (const s of this.outputs) s.destroy();
  }
}

/**
 * A streamed stdin into a native guest's fd 0 (a real pipe, which the guest's read waits on, and
 * poll and epoll watch, in the kernel): bytes move from the ring as they arrive, with the pipe's
 * back-pressure (a write Node cannot pass on at once waits for 'drain' before more is taken from
 * the ring, which then fills and pauses the source), and the pipe is closed at the stream's end.
 * The native threads do not tell the host when the guest reads, so input is asked for at once.
 */
class RingToPipe {
  private stopped = false;

  constructor(
    private readonly ring: StdinRing,
    private readonly pipe: Net.Socket,
  ) {
    // The guest closed its end or left (EPIPE): take no more.
    pipe.on('error', () => this.stop());
    ring.want();
    this.move();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ring.closeReader();
    this.pipe.destroy();
  }

  private readonly move = (): void => {
    while (!this.stopped) {
      const seen = this.ring.writeGeneration();
      const bytes = this.ring.take(1 << 16, false);
      if (bytes === null) {
        if (this.ring.ended) {
          this.stopped = true;
          this.pipe.end();
        } else this.ring.whenWritten(seen, this.move);
        return;
      }
      if (!this.pipe.write(bytes)) {
        this.pipe.once('drain', this.move);
        return;
      }
    }
  };
}
