// The baseline: the echo server a user would otherwise write, directly on Node's `net`. Prints the
// port it listens on, serves until killed.
import { createServer } from 'node:net';

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 1024 }, () => {
  const address = server.address();
  process.stderr.write(`node-echo: listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : '?'}\n`);
});
