// Long fuzz runs: `npm run fuzz -- --minutes N [--kernel virtual|os|native|all] [--seed S] [--entries E]`,
// or `npm run fuzz -- --target httpd|kv --minutes N [--seed S] [--kernel os|native]` for the httpd's
// and the kv server's protocol fuzzers (build/tests/fuzz/{httpd,kv}-fuzzer.js: mutated and hostile
// requests, a reference client checking answers on other connections; JSON summary; exit status 1
// when a reference answer was wrong or the server stopped).
//
// The ABI target runs seeded ABI fuzz sessions (build/tests/fuzz/abi-fuzzer.js) one after another, alternating the
// kernels, until the time is up; prints a progress line a minute and a JSON summary at the end
// (entries fuzzed, sessions, adversarial actions, host log lines, failures). Exit status 1 when the
// host broke a promise (the failing seed replays it: --seed S --minutes 0).
import { fuzzAbi } from '../build/tests/fuzz/abi-fuzzer.js';
import { fuzzHttpd } from '../build/tests/fuzz/httpd-fuzzer.js';
import { fuzzKv } from '../build/tests/fuzz/kv-fuzzer.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const minutes = Number(opt('--minutes', '1'));
const target = opt('--target', 'abi');
if (target === 'httpd' || target === 'kv') {
  const seed = Number(opt('--seed', String(Date.now() % 1_000_000)));
  const kernel = opt('--kernel', 'os');
  const fuzz = target === 'httpd' ? fuzzHttpd : fuzzKv;
  const r = await fuzz({ seconds: minutes * 60, seed, concurrency: Number(opt('--concurrency', '8')), kernel });
  console.log(JSON.stringify({ target, kernel, seed, minutes, ...r }, null, 2));
  process.exit(r.referenceFailures.length > 0 || !r.serverAlive ? 1 : 0);
}
// all: the native kernel too when its addon is built (npm ci builds it).
const { loadNativeAddon } = await import('../build/host/kernel/native/addon.js');
const kernels = opt('--kernel', 'all') === 'all' ? ['virtual', 'os', ...(typeof loadNativeAddon() === 'string' ? [] : ['native'])] : [opt('--kernel', 'all')];
let seed = Number(opt('--seed', String(Date.now() % 1_000_000)));
const entries = Number(opt('--entries', '5000'));
if (!Number.isFinite(minutes) || minutes < 0 || !Number.isInteger(seed) || !(entries > 0)) {
  console.error('usage: npm run fuzz -- --minutes N [--kernel virtual|os|native|all] [--seed S] [--entries E]');
  process.exit(2);
}

const total = { firstSeed: seed, sessions: 0, posted: 0, completed: 0, kept: 0, cancelled: 0, rewrites: 0, forced: 0, freeCancels: 0, tailJumps: 0, hazards: 0, scribbles: 0, logLines: 0, failures: [] };
const start = Date.now();
const until = start + minutes * 60_000;
let nextReport = start + 60_000;
do {
  for (const kernel of kernels) {
    const r = await fuzzAbi({ kernel, seed, entries });
    total.sessions++;
    for (const k of ['posted', 'completed', 'kept', 'cancelled', 'rewrites', 'forced', 'freeCancels', 'tailJumps', 'hazards', 'scribbles', 'logLines']) total[k] += r[k];
    total.failures.push(...r.failures.map((f) => `${kernel}: ${f}`));
  }
  seed++;
  if (Date.now() >= nextReport) {
    nextReport += 60_000;
    console.log(`${((Date.now() - start) / 60_000).toFixed(1)} min: ${total.sessions} sessions, ${total.posted} entries fuzzed, ${total.failures.length} failures`);
  }
} while (Date.now() < until && total.failures.length === 0);
total.lastSeed = seed - 1;
total.minutes = Number(((Date.now() - start) / 60_000).toFixed(2));
total.entriesFuzzed = total.posted + total.rewrites + total.forced + total.freeCancels + total.tailJumps + total.scribbles;
console.log(JSON.stringify(total, null, 2));
process.exit(total.failures.length > 0 ? 1 : 0);
