// A static file server on node:http with an in-memory cache: the Node peer of the httpd benchmark.
// Usage: node node-static-server.js ROOT PORT  (prints "listening on 127.0.0.1:PORT" to stderr)
import { readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';

const [root = '.', port = '0'] = process.argv.slice(2);
const cache = new Map<string, Buffer>();
for (const name of readdirSync(root)) cache.set(`/${name}`, readFileSync(join(root, name)));
const server = http.createServer((req, res) => {
  const body = cache.get(req.url ?? '/');
  if (!body) {
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => {
  process.stderr.write(`node-static: listening on 127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
process.on('SIGINT', () => server.close(() => process.exit(0)));
