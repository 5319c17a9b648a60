// End to end: `flexvm run --model` changes nothing a guest computes or outputs (the determinism guest
// prints the same bytes with and without it, in every mode, and exits the same), and it reports the
// model of the run; `flexvm model figure1` draws an SVG and prints its three formats.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, guestPath } from './helpers/e2e.js';

const CLI = join(ROOT, 'build/host/cli/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'flexvm-model-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function flexvm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

for (const mode of ['epoll', 'sync', 'exceptionless']) {
  test(`--model changes nothing the guest outputs (${mode} mode)`, async () => {
    const guest = guestPath('tests/guests/determinism');
    const plain = await flexvm('run', '--kernel', 'virtual', '--mode', mode, guest);
    const json = join(tmp, `${mode}.json`);
    const modelled = await flexvm('run', '--kernel', 'virtual', '--mode', mode, '--model', 'nehalem', '--model-json', json, guest);
    assert.is(plain.code, 0, plain.stderr);
    assert.is(modelled.code, plain.code);
    assert.ok(plain.stdout.length > 100);
    assert.is(modelled.stdout, plain.stdout);
    assert.match(modelled.stderr, /flexvm model \(nehalem profile\)/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { counted: { wasmInstructions: number; calls: number }; model: { sync: { userIpc: number } } };
    assert.ok(report.counted.wasmInstructions > 0 && report.counted.calls > 0);
    assert.ok(report.model.sync.userIpc > 0 && report.model.sync.userIpc < 1.46);
  });
}

test('--model with an unknown profile is a clear error; --model-requests needs --model', async () => {
  const r = await flexvm('run', '--kernel', 'virtual', '--model', 'no-such-cpu', guestPath('tests/guests/determinism'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /profile "no-such-cpu".*nehalem/);
  const u = await flexvm('run', '--model-requests', '3', guestPath('tests/guests/determinism'));
  assert.is(u.code, 2);
});

test('model figure1: table, CSV, JSON and an SVG drawn by vega', async () => {
  const svg = join(tmp, 'f1.svg');
  const t = await flexvm('model', 'figure1', '--profile', 'nehalem', '--points', '3', '--svg', svg);
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /published/);
  assert.match(readFileSync(svg, 'utf8'), /^<svg[^>]*class="marks"/);
  const c = await flexvm('model', 'figure1', '--csv', '--points', '2');
  assert.match(c.stdout, /^profile,instructions,baseline_ipc/);
  const j = JSON.parse((await flexvm('model', 'figure1', '--json', '--points', '2')).stdout) as { rows: unknown[]; paper: unknown[] };
  assert.ok(j.rows.length >= 4 && j.paper.length === 2);
  const bad = await flexvm('model', 'nonsense');
  assert.is(bad.code, 2);
});

test("model table1: the paper's rows beside the echo and httpd guests, counted in epoll mode", async () => {
  const r = await flexvm('model', 'table1', '--json', '--requests', '40');
  assert.is(r.code, 0, r.stderr);
  const t = JSON.parse(r.stdout) as { rows: Record<string, number | string | null>[] };
  const servers = t.rows.map((row) => row['server']);
  assert.equal(servers.slice(0, 2), ['memcached', 'nginx']);
  for (const name of ['flexvm echo', 'flexvm httpd']) {
    const row = t.rows.find((x) => x['server'] === name)!;
    assert.ok(row, name);
    assert.ok((row['calls_per_request'] as number) >= 2, `${name}: calls per request ${row['calls_per_request']}`);
    assert.ok((row['user_instr_per_call'] as number) > 10);
    assert.ok((row['exceptionless_cycles_per_request'] as number) < (row['sync_cycles_per_request'] as number));
  }
});

test.run();
