import {
  CW_G_SUBMITTED, GUEST_COUNTER_NAMES, HOST_COUNTER_NAMES, hostLineW, SYSCALLS, MODE_NAMES,
} from '../abi/v1.js';
import { pagesRegistered, type ControlLayout } from '../guest/control-block.js';

export interface SyscallCount {
  submitted: number;
  completed: number;
}

export interface ThreadStats {
  claimed: number;
  completed: number;
  batches: number;
  scans: number;
  sleeps: number;
  wakeups: number;
  notifies: number;
}

/** What one guest's run cost and did. */
export interface GuestStats {
  mode: string;
  /** Syscall threads that served the guest. */
  threads: number;
  /** Calls executed by the kernel (all paths: pages, sync, shims). */
  submitted: number;
  completed: number;
  bySyscall: Record<string, SyscallCount>;
  /** Scan passes of a syscall thread that took at least one entry, and entries per such pass. */
  batches: number;
  meanBatch: number;
  /** Guest completion polls and waits inside Wasm. */
  polls: number;
  waits: number;
  wakeups: {
    /** Doorbells the guest rang because a syscall thread slept. */
    doorbells: number;
    /** Times a sleeping syscall thread woke up. */
    threadWakeups: number;
    /** Notifications syscall threads sent to the waiting guest. */
    guestNotifies: number;
  };
  /** Calls from the guest into host imports (each one is a mode switch). */
  modeSwitches: number;
  cancellations: { requested: number; won: number; lost: number };
  /** Submissions delayed because every entry of their thread was busy. */
  throttled: number;
  handlers: number;
  /** Syscall pages: registered at the end (the first ones and those added at run time), the most allowed, batches added. */
  pages: { registered: number; limit: number; added: number };
  /** The size of its linear memory when it ended (it grows as the guest's allocator asks, never shrinks). */
  memoryBytes: number;
  /** Host diagnostics the guest triggered (a tail that jumped...), and those the rate limit held back. */
  diagnostics: { raised: number; suppressed: number };
  perThread: ThreadStats[];
}

const NAME_OF = new Map(SYSCALLS.map((s) => [s.nr, s.name]));

/**
 * Reads a guest's counters from its control block (guest counters and the per-thread host lines)
 * and merges the per-syscall counts the syscall threads reported.
 */
export function collectStats(
  memory: WebAssembly.Memory,
  layout: ControlLayout | null,
  threads: number,
  mode: number,
  counts: readonly (Record<number, [number, number]> | null)[],
  importCalls: number,
  diagnostics: { raised: number; suppressed: number } = { raised: 0, suppressed: 0 },
): GuestStats {
  const bySyscall: Record<string, SyscallCount> = {};
  let submitted = 0;
  let completed = 0;
  for (const c of counts) {
    if (!c) continue;
    for (const [nr, [s, d]] of Object.entries(c)) {
      const name = NAME_OF.get(Number(nr)) ?? `sys_${nr}`;
      const entry = (bySyscall[name] ??= { submitted: 0, completed: 0 });
      entry.submitted += s;
      entry.completed += d;
      submitted += s;
      completed += d;
    }
  }
  const guest: Record<string, number> = {};
  const perThread: ThreadStats[] = [];
  const host: Record<string, number> = {};
  if (layout) {
    const i32 = new Int32Array(memory.buffer);
    // The guest's counters, in GUEST_COUNTER_NAMES order from the first (submitted).
    const g = (layout.ctrl >>> 2) + CW_G_SUBMITTED;
    GUEST_COUNTER_NAMES.forEach((name, i) => (guest[name] = Atomics.load(i32, g + i) >>> 0));
    for (let t = 0; t < threads; t++) {
      const base = hostLineW(layout.ctrl, t);
      const line: Record<string, number> = {};
      HOST_COUNTER_NAMES.forEach((name, i) => (line[name] = Atomics.load(i32, base + i) >>> 0));
      for (const [k, v] of Object.entries(line)) if (k !== 'next_seq') host[k] = (host[k] ?? 0) + v;
      perThread.push({
        claimed: line['claimed']!,
        completed: line['completed']!,
        batches: line['batches']!,
        scans: line['scans']!,
        sleeps: line['sleeps']!,
        wakeups: line['wakeups']!,
        notifies: line['notifies']!,
      });
    }
  }
  const batches = host['batches'] ?? 0;
  const claimed = host['claimed'] ?? 0;
  return {
    mode: MODE_NAMES[mode] ?? String(mode),
    threads,
    submitted,
    completed,
    bySyscall,
    batches,
    meanBatch: batches ? claimed / batches : 0,
    polls: guest['polls'] ?? 0,
    waits: guest['waits'] ?? 0,
    wakeups: {
      doorbells: guest['doorbells'] ?? 0,
      threadWakeups: host['wakeups'] ?? 0,
      guestNotifies: host['notifies'] ?? 0,
    },
    modeSwitches: importCalls,
    // Cancellations through the pages race the host (it says who won); the guest answers the others itself.
    cancellations: {
      requested: (guest['cancels'] ?? 0) + (guest['cancels_local'] ?? 0),
      won: (host['cancel_won'] ?? 0) + (guest['cancels_local'] ?? 0),
      lost: host['cancel_lost'] ?? 0,
    },
    throttled: guest['throttled'] ?? 0,
    handlers: guest['handlers'] ?? 0,
    pages: { registered: layout ? pagesRegistered(layout) : 0, limit: layout?.pageMax ?? 0, added: guest['pages_added'] ?? 0 },
    memoryBytes: memory.buffer.byteLength,
    diagnostics,
    perThread,
  };
}

/** A human-readable report, for `flexvm run --stats`. */
export function formatStats(name: string, s: GuestStats): string {
  const lines: string[] = [];
  lines.push(`flexvm statistics for ${name} (${s.mode} mode, ${s.threads} syscall thread${s.threads === 1 ? '' : 's'})`);
  lines.push(`  calls:          ${s.submitted} submitted, ${s.completed} completed`);
  lines.push(`  batches:        ${s.batches} (mean ${s.meanBatch.toFixed(2)} entries)`);
  lines.push(`  guest:          ${s.polls} polls, ${s.waits} waits, ${s.handlers} handlers, ${s.throttled} throttled`);
  lines.push(`  wake-ups:       ${s.wakeups.doorbells} doorbells, ${s.wakeups.threadWakeups} thread wake-ups, ${s.wakeups.guestNotifies} guest notifies`);
  lines.push(`  mode switches:  ${s.modeSwitches}`);
  lines.push(`  syscall pages:  ${s.pages.registered} of at most ${s.pages.limit}${s.pages.added ? ` (${s.pages.added} batch${s.pages.added === 1 ? '' : 'es'} added at run time)` : ''}`);
  lines.push(`  memory:         ${Math.round(s.memoryBytes / 1024)} KiB of linear memory at the end`);
  lines.push(`  cancellations:  ${s.cancellations.requested} requested, ${s.cancellations.won} won, ${s.cancellations.lost} lost`);
  if (s.diagnostics.raised > 0) lines.push(`  diagnostics:    ${s.diagnostics.raised} raised, ${s.diagnostics.suppressed} held back by the rate limit`);
  const rows = Object.entries(s.bySyscall).sort((a, b) => b[1].submitted - a[1].submitted);
  if (rows.length) {
    lines.push('  by call:');
    const width = Math.max(...rows.map(([n]) => n.length));
    for (const [n, c] of rows) lines.push(`    ${n.padEnd(width)}  ${String(c.submitted).padStart(9)} submitted ${String(c.completed).padStart(9)} completed`);
  }
  if (s.perThread.length > 1) {
    lines.push('  by syscall thread:');
    s.perThread.forEach((t, i) =>
      lines.push(`    #${i}: ${t.claimed} claimed, ${t.completed} completed, ${t.batches} batches, ${t.sleeps} sleeps, ${t.wakeups} wake-ups`),
    );
  }
  return lines.join('\n');
}
