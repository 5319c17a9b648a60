// The native syscall threads' seccomp filter (native/src/seccomp.h): every syscall thread runs under
// it and Node's own threads do not; FLEXVM_NATIVE_SECCOMP=0 leaves it off. The kernel's view of each
// thread (/proc/self/task/TID/status, "Seccomp: 2" for a filter) is the evidence.
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addon, nativeTest } from './helpers/native.js';

const t = nativeTest();

interface Task {
  tid: string;
  name: string;
  seccomp: number;
}

function tasks(): Task[] {
  const out: Task[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const name = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '';
      const seccomp = Number(/^Seccomp:\s*(\d+)$/m.exec(status)?.[1] ?? -1);
      out.push({ tid, name, seccomp });
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

const isSyscallThread = (k: Task): boolean => k.name.startsWith('flexvm-sc');

/** The syscall threads started since `before` (other tests' executors may still run in this process). */
async function syscallThreads(before: Set<string>, count: number): Promise<Task[]> {
  const fresh = (): Task[] => tasks().filter((k) => isSyscallThread(k) && !before.has(k.tid));
  for (let i = 0; i < 200; i++) {
    const found = fresh();
    // A thread is named, then installs the filter: wait until every one has done both.
    if (found.length === count && found.every((k) => k.seccomp !== 0 || process.env['FLEXVM_NATIVE_SECCOMP'] === '0')) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  return fresh();
}

const tids = (): Set<string> => new Set(tasks().map((k) => k.tid));

t('every syscall thread runs under the seccomp filter, and Node\'s threads do not', async () => {
  const a = addon();
  const before = tids();
  const ex = a.createExecutor(2, 50, 50, false);
  try {
    const threads = await syscallThreads(before, 2);
    assert.is(threads.length, 2, 'two named syscall threads');
    for (const k of threads) assert.is(k.seccomp, 2, `${k.name} runs in seccomp filter mode`);
    const others = tasks().filter((k) => !isSyscallThread(k));
    assert.ok(others.length > 0);
    for (const k of others) assert.is(k.seccomp, 0, `${k.name} (Node's) has no filter`);
  } finally {
    a.destroyExecutor(ex);
  }
});

t('FLEXVM_NATIVE_SECCOMP=0 starts the syscall threads without it', async () => {
  const a = addon();
  process.env['FLEXVM_NATIVE_SECCOMP'] = '0';
  let ex = -1;
  const before = tids();
  try {
    ex = a.createExecutor(1, 50, 50, false);
    const threads = await syscallThreads(before, 1);
    assert.is(threads.length, 1);
    assert.is(threads[0]!.seccomp, 0);
  } finally {
    delete process.env['FLEXVM_NATIVE_SECCOMP'];
    if (ex >= 0) a.destroyExecutor(ex);
  }
});

test.run();
