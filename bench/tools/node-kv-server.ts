// The baseline for the kv benchmark: the get/set cache a JavaScript user would write instead of
// running memcached, directly on Node's `net` with a Map. The memcached text protocol's get (any
// number of keys) and set, pipelining and values split over reads; other commands get ERROR. No
// memory limit, no expiry: less work than the kv guest does, which keeps the comparison honest.
import { createServer } from 'node:net';

interface Item {
  readonly flags: string;
  readonly data: Buffer;
}

const store = new Map<string, Item>();
const CRLF = Buffer.from('\r\n');
const END = Buffer.from('END\r\n');
const STORED = Buffer.from('STORED\r\n');

const server = createServer({ noDelay: true }, (socket) => {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) break;
      const line = buf.toString('latin1', 0, nl > 0 && buf[nl - 1] === 13 ? nl - 1 : nl);
      const parts = line.split(' ').filter(Boolean);
      if (parts[0] === 'set' && parts.length >= 5) {
        const len = Number(parts[4]);
        if (buf.length < nl + 1 + len + 2) break; // wait for the whole value
        store.set(parts[1]!, { flags: parts[2]!, data: Buffer.from(buf.subarray(nl + 1, nl + 1 + len)) });
        buf = buf.subarray(nl + 1 + len + 2);
        if (parts[5] !== 'noreply') out.push(STORED);
        continue;
      }
      buf = buf.subarray(nl + 1);
      if (parts[0] === 'get' && parts.length > 1) {
        for (const key of parts.slice(1)) {
          const it = store.get(key);
          if (it) out.push(Buffer.from(`VALUE ${key} ${it.flags} ${it.data.length}\r\n`, 'latin1'), it.data, CRLF);
        }
        out.push(END);
      } else out.push(Buffer.from('ERROR\r\n'));
    }
    if (out.length) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  });
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 1024 }, () => {
  const address = server.address();
  process.stderr.write(`node-kv: listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : '?'}\n`);
});
