// The soak tests, long: `npm run soak -- --minutes N [--target httpd|kv] [--kernel os|native]
// [--concurrency C]`. httpd (the default): the httpd under mixed load while its files change
// (build/tests/fuzz/httpd-fuzzer.js, soakHttpd), every answer checked. kv: clients setting,
// deleting, incrementing and reading their keys through the text, meta and binary protocols
// (build/tests/fuzz/kv-fuzzer.js, soakKv), every answer checked against what was acknowledged and
// every acknowledged write read back at the end. A JSON summary either way, with this process's
// descriptors, memory and libuv handles before and after. Exit status 1 on a wrong answer, a lost
// write or a leaked descriptor.
import { soakHttpd } from '../build/tests/fuzz/httpd-fuzzer.js';
import { soakKv } from '../build/tests/fuzz/kv-fuzzer.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run soak -- [--minutes N (1)] [--target httpd|kv] [--kernel os|native] [--concurrency C (16)]
  httpd: mixed load while its files change, every answer checked; kv: every acknowledged write read back.
  Prints a JSON summary: counts, this process's descriptors, RSS, V8 heap and libuv handles before
  and after, and ten RSS and heap readings over the run (the clients share this process: for the
  VM's memory alone, node --expose-gc scripts/soak-memory.mjs --help).`);
  process.exit(0);
}
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const minutes = Number(opt('--minutes', '1'));
const target = opt('--target', 'httpd');
const kernel = opt('--kernel', 'os');
const soak = target === 'kv' ? soakKv : soakHttpd;
const r = await soak({ seconds: minutes * 60, concurrency: Number(opt('--concurrency', '16')), kernel });
console.log(JSON.stringify({ target, kernel, minutes, ...r }, null, 2));
process.exit(r.errors > 0 || !r.serverAlive || r.fdsAfter > r.fdsBefore + 2 ? 1 : 0);
