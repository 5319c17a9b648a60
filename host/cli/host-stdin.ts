import { fstatSync, readFileSync, statSync, type Stats } from 'node:fs';
import { lazyBuiltin } from '../lazy-builtin.js';

// Only a character device may be a terminal: node:tty (with node:net) loads only then.
const tty = lazyBuiltin<typeof import('node:tty')>('node:tty');

/**
 * The host's standard input for the main guest, streamed (every kernel, flexvm guests and WASI
 * programs alike) when it is a pipe, a file or the terminal we are in the foreground of:
 * `cmd | flexvm run prog.wasm`, `flexvm run prog.wasm < file`, typing. The guest reads it as it
 * arrives (host/vm/stdin-feeder.ts). A socket or nothing is left alone, the guest reading end of
 * file at once: a test harness or supervisor connects its children's stdin with a socket it may never
 * close, and a guest that read it would wait forever. A terminal we are in the background of is left
 * alone too (reading it would stop the whole job, SIGTTIN, as `flexvm run server.wasm &` must not).
 */
export function hostStdinStream(): NodeJS.ReadableStream | undefined {
  return hostStdinReadable() ? process.stdin : undefined;
}

/** Whether the main guest reads the host's standard input (hostStdinStream's rule), without touching process.stdin. */
export function hostStdinReadable(): boolean {
  try {
    const st = fstatSync(0);
    if (st.isFIFO() || st.isFile()) return true;
    if (st.isCharacterDevice() && !isDevNull(st) && tty().isatty(0) && inForeground()) return true;
  } catch {
    // No descriptor 0 at all.
  }
  return false;
}

/** /dev/null, a character device that is no terminal (asked without loading node:tty). */
function isDevNull(st: Stats): boolean {
  try {
    return st.rdev === statSync('/dev/null').rdev;
  } catch {
    return false;
  }
}

/**
 * Whether this process is in its terminal's foreground process group (Linux: /proc/self/stat's
 * pgrp and tpgid fields); elsewhere assumed so.
 */
function inForeground(): boolean {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return true;
  }
  // The command name (field 2) may hold spaces: the fields after it follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  return !(pgrp > 0 && tpgid > 0) || pgrp === tpgid;
}
