// Directory grants as strings, in one place: the embedding API's `dirs` and the command line's
// --dir and --mapdir (the forms wasmtime and wasmer use, plus flexvm's HOST:GUEST). The CLI checks
// them before anything starts: a host path that is missing or not a directory, or an unknown
// suffix, is a usage error said once.
import { statSync } from 'node:fs';
import { posix as posixPath, resolve } from 'node:path';
import type { Grant } from '../kernel/kernel.js';

/** A malformed or unusable grant: the CLI reports it as a usage error (exit status 2). */
export class DirSpecError extends Error {}

const SUFFIXES = ['ro', 'rw'];

/**
 * Splits a trailing `:ro`/`:rw`. Any other `:word` at the end (one colon, letters only) is refused:
 * `HOST:/www:rx` is a typo for a suffix, `HOST:www` a guest path that is not absolute.
 */
function access(spec: string, option: string, form: string): { rest: string; readOnly: boolean } {
  const m = /(?<!:):([A-Za-z]+)$/.exec(spec);
  if (!m) return { rest: spec, readOnly: false };
  const word = m[1]!;
  if (SUFFIXES.includes(word)) return { rest: spec.slice(0, m.index), readOnly: word === 'ro' };
  throw new DirSpecError(`${option} ${JSON.stringify(spec)}: unknown suffix ":${word}" (${form}; guest paths are absolute)`);
}

function hostDir(host: string, option: string, spec: string, check: boolean, form: string): string {
  if (!host) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: the host path is empty (${form})`);
  const path = resolve(host);
  if (!check) return path;
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new DirSpecError(`${option} ${JSON.stringify(spec)}: ${path} does not exist`);
  }
  if (!isDir) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: ${path} is not a directory`);
  return path;
}

/**
 * wasmtime's and wasmer's `::` forms: GUEST may be relative (".", "data"), the name a WASI program's
 * preopen shows (`wasiName`); the kernel sees it under "/" ("." is the root).
 */
function wasiGuest(name: string, option: string, spec: string): { guestPath: string; wasiName: string } {
  if (!name) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: the guest name is empty`);
  if (name.includes(':')) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: the guest path ${JSON.stringify(name)} contains ":"`);
  return { guestPath: name.startsWith('/') ? name : posixPath.join('/', name), wasiName: name };
}

function guestDir(guest: string, option: string, spec: string): string {
  if (!guest.startsWith('/')) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: the guest path must be absolute, got ${JSON.stringify(guest)}`);
  if (guest.includes(':')) throw new DirSpecError(`${option} ${JSON.stringify(spec)}: the guest path ${JSON.stringify(guest)} contains ":"`);
  return guest;
}

/**
 * `--dir`: `HOST` (seen at its absolute path), `HOST:GUEST` (flexvm's form, GUEST absolute) or
 * `HOST::GUEST` (wasmtime's, GUEST may be relative: see wasiGuest), each optionally followed by `:ro` or `:rw` (the default). `checkHost`: the host path
 * must exist and be a directory.
 */
export function parseDirSpec(spec: string, checkHost = true): Grant {
  const form = 'expected HOST[:GUEST][:ro] or HOST::GUEST[:ro]';
  const { rest, readOnly } = access(spec, '--dir', form);
  const wasi = rest.indexOf('::');
  if (wasi >= 0) {
    const hostPath = hostDir(rest.slice(0, wasi), '--dir', spec, checkHost, form);
    return { hostPath, ...wasiGuest(rest.slice(wasi + 2), '--dir', spec), ...(readOnly ? { readOnly } : {}) };
  }
  const i = rest.indexOf(':');
  const hostPath = hostDir(i < 0 ? rest : rest.slice(0, i), '--dir', spec, checkHost, form);
  const guestPath = i < 0 ? hostPath : guestDir(rest.slice(i + 1), '--dir', spec);
  return { hostPath, guestPath, ...(readOnly ? { readOnly } : {}) };
}

/** `--mapdir GUEST::HOST` (wasmtime's and wasmer's order), optionally followed by `:ro` or `:rw`. */
export function parseMapdirSpec(spec: string, checkHost = true): Grant {
  const form = 'GUEST::HOST[:ro]';
  const i = spec.indexOf('::');
  if (i < 0) throw new DirSpecError(`--mapdir expects ${form}, got ${JSON.stringify(spec)}`);
  const { rest, readOnly } = access(spec, '--mapdir', form);
  const guest = wasiGuest(rest.slice(0, i), '--mapdir', spec);
  const hostPath = hostDir(rest.slice(i + 2), '--mapdir', spec, checkHost, form);
  return { hostPath, ...guest, ...(readOnly ? { readOnly } : {}) };
}

/** The embedding API's `dirs` entries: a grant, or a string as --dir spells it (not checked here). */
export function parseGrant(spec: string | Grant): Grant {
  return typeof spec === 'string' ? parseDirSpec(spec, false) : spec;
}
