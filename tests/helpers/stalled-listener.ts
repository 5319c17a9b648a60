/**
 * A loopback listener whose accept queue is full, so that a connect to it waits (its SYN is dropped
 * and retried) until it is cancelled: what the connect-cancellation cases need, without counting on
 * an address this machine does not route (sandboxes and proxies answer those at once).
 *
 * Linux drops a SYN to a listener whose accept queue is full (more queued connections than its
 * backlog). Node cannot hold a listener that does not accept (libuv accepts whenever the socket is
 * readable), so the listener is a python3 child (python3 is installed wherever the addon is built,
 * and by .ci/run) listening with a backlog of 0 and never accepting; one connection from here fills
 * its queue.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';

const LISTENER = [
  'import socket, sys',
  's = socket.socket()',
  "s.bind(('127.0.0.1', 0))",
  's.listen(0)',
  'print(s.getsockname()[1], flush=True)',
  'sys.stdin.read()',
].join('\n');

export interface StalledListener {
  readonly port: number;
  close(): void;
}

export async function stalledListener(): Promise<StalledListener> {
  const child = spawn('python3', ['-c', LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('error', (e) => reject(new Error(`stalledListener: python3 could not start (${e.message})`)));
    child.once('exit', (code) => reject(new Error(`stalledListener: python3 exited (${code}) before listening`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
  });
  child.removeAllListeners('exit');
  // One completed connection sits in the queue: it is now full.
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  await new Promise<void>((resolve) => filler.once('connect', () => resolve()));
  return {
    port,
    close() {
      filler.destroy();
      child.kill('SIGKILL');
    },
  };
}
