import * as net from 'node:net';

/**
 * The host's ends of a native guest's standard streams (pipes the addon made at attach): what the
 * guest writes on 1 and 2 goes to the embedder's sinks, the spawn's stdin is written into 0 and
 * closed (then EOF). Real pipes, so a guest that writes faster than the sink reads waits, as a
 * process writing to a full pipe does.
 */
export class GuestStreams {
  private readonly outputs: net.Socket[] = [];
  private readonly ended: Promise<void>[] = [];

  constructor(fds: readonly [number, number, number], stdin: Uint8Array | null, sink: (fd: 1 | 2, data: Uint8Array) => void) {
    const input = new net.Socket({ fd: fds[0], readable: false, writable: true });
    input.on('error', () => {}); // the guest left without reading it all: EPIPE, nothing to report
    if (stdin && stdin.length) input.end(stdin);
    else input.destroy();
    for (const fd of [1, 2] as const) {
      const s = new net.Socket({ fd: fds[fd], readable: true, writable: false });
      s.on('data', (d: Buffer) => sink(fd, new Uint8Array(d.buffer, d.byteOffset, d.length)));
      s.on('error', () => {});
      this.outputs.push(s);
      this.ended.push(new Promise((r) => s.once('close', () => r())));
    }
  }

  /** Resolves once both outputs reached EOF (the guest's ends are closed), or after `ms`. */
  async drained(ms = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.ended), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    for (const s of this.outputs) s.destroy();
  }
}
