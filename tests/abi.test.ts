// The ABI's single source of truth and its generated bindings: layout invariants, and every
// generated file in step with abi/abi.json (the test fails when a binding is stale).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as v1 from '../host/abi/v1.js';

const root = new URL('../../', import.meta.url);
const abi = JSON.parse(readFileSync(new URL('abi/abi.json', root), 'utf8'));

test('generated bindings are up to date with abi/abi.json', () => {
  try {
    execFileSync(process.execPath, ['abi/generate.mjs', '--check'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    assert.unreachable(`stale bindings: ${(err as { stderr: Buffer }).stderr}`);
  }
});

test('an entry is one 64-byte cache line of 16 non-overlapping 32-bit words', () => {
  assert.is(v1.ENTRY_SIZE, 64);
  const offsets = abi.entry.fields.map((f: { offset: number }) => f.offset);
  assert.equal(offsets, [...Array(16).keys()].map((i) => i * 4));
  assert.is(v1.E_STATUS, 0);
  assert.is(v1.ENTRIES_PER_PAGE * v1.ENTRY_SIZE, v1.PAGE_SIZE);
});

test('status values are distinct and FREE is zero (zeroed memory is free)', () => {
  const values = [v1.ST_FREE, v1.ST_SUBMITTED, v1.ST_BUSY, v1.ST_DONE, v1.ST_CANCEL];
  assert.is(new Set(values).size, 5);
  assert.is(v1.ST_FREE, 0);
});

test('control block lines have one writer each, and the thread and host lines fit the fixed part', () => {
  const byLine = new Map<number, Set<string>>();
  for (const f of abi.control.fields) {
    if (f.name.startsWith('shim_')) continue;
    const line = f.offset >> 6;
    if (!byLine.has(line)) byLine.set(line, new Set());
    byLine.get(line)!.add(f.writer);
  }
  for (const [line, writers] of byLine) assert.is(writers.size, 1, `line ${line} has writers ${[...writers]}`);
  assert.ok(v1.THREAD_LINES + v1.MAX_THREADS * 64 <= v1.HOST_LINES);
  assert.ok(v1.HOST_LINES + v1.MAX_THREADS * 64 <= v1.CTRL_FIXED_SIZE);
  assert.is(v1.ctrlSize(1), v1.CTRL_FIXED_SIZE + 128);
  assert.is(v1.doneMaskOffset(8), v1.CTRL_FIXED_SIZE + 64);
  assert.is(v1.doneMaskOffset(9), v1.CTRL_FIXED_SIZE + 128);
});

test('Linux x86-64 numbers: a few well-known syscalls and errno values', () => {
  assert.is(v1.SYS_read, 0);
  assert.is(v1.SYS_getpid, 39);
  assert.is(v1.SYS_accept4, 288);
  assert.is(v1.SYS_openat, 257);
  assert.is(v1.ENOSYS, 38);
  assert.is(v1.EFAULT, 14);
  assert.is(v1.ECANCELED, 125);
  assert.is(v1.STAT_SIZE, 144);
  assert.is(v1.EPOLL_EVENT_SIZE, 12);
});

test('64-bit arguments take two slots and no call needs more than six', () => {
  const lseek = v1.SYSCALLS.find((s) => s.name === 'lseek')!;
  assert.equal(lseek.args.map((a) => a.slot), [0, 1, 3]);
  for (const s of v1.SYSCALLS) {
    const last = s.args[s.args.length - 1];
    if (last) assert.ok(last.slot + (last.type === 'i64' ? 2 : 1) <= 6, s.name);
  }
});

/** Parses `NAME ... = value` constants out of a generated file. */
function constants(text: string, re: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(re)) out.set(m[1]!, Number(m[2]!.replace(/[()u]/g, '')));
  return out;
}

test('the guest (AssemblyScript) and C bindings carry the same values as the host', () => {
  const guest = constants(readFileSync(new URL('guest/flexsc/abi.ts', root), 'utf8'), /export const (\w+): \w+ = (-?[\dx a-f]+);/g);
  const header = constants(readFileSync(new URL('abi/include/flexvm.h', root), 'utf8'), /#define FLEXVM_(\w+) (\(?-?[\dxa-f]+u?\)?)/g);
  const host = v1 as unknown as Record<string, unknown>;
  let compared = 0;
  for (const [name, value] of guest) {
    if (typeof host[name] !== 'number') continue;
    assert.is(value, host[name], `guest ${name}`);
    compared++;
  }
  for (const [name, value] of header) {
    if (typeof host[name] !== 'number') continue;
    assert.is(value, host[name], `C ${name}`);
    compared++;
  }
  assert.ok(compared > 300, `compared ${compared} constants`);
});

test.run();
