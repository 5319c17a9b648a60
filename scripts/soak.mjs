// The soak test, long: `npm run soak -- --minutes N [--concurrency C]` runs the httpd on the os kernel
// under mixed load while its files change (build/tests/fuzz/httpd-fuzzer.js, soakHttpd), checks every
// answer, and prints a JSON summary: requests, errors, file changes, and this process's descriptors,
// memory and libuv handles before and after. Exit status 1 on a wrong answer or a leaked descriptor.
import { soakHttpd } from '../build/tests/fuzz/httpd-fuzzer.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const minutes = Number(opt('--minutes', '1'));
const r = await soakHttpd({ seconds: minutes * 60, concurrency: Number(opt('--concurrency', '16')) });
console.log(JSON.stringify({ minutes, ...r }, null, 2));
process.exit(r.errors > 0 || !r.serverAlive || r.fdsAfter > r.fdsBefore + 2 ? 1 : 0);
