import { ENAMETOOLONG, ENOENT, PATH_MAX } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** Longest path component, in bytes (Linux NAME_MAX). */
export const NAME_MAX = 255;

/**
 * A path split into components. Components are *byte strings*: each char holds one byte of the
 * guest's path (latin1), so names that are not valid UTF-8 survive a round trip untouched; convert
 * with `Buffer.from(name, 'latin1')`. "." and ".." stay in the list: only the resolver knows what
 * they mean (".." of a name that does not exist is ENOENT on Linux, not a lexical no-op).
 */
export interface ParsedPath {
  readonly absolute: boolean;
  readonly components: readonly string[];
  /** The path ends in "/" (its last component must then be a directory). */
  readonly trailingSlash: boolean;
}

/** Splits a path: ENOENT when empty, ENAMETOOLONG when a component is longer than NAME_MAX bytes. */
export function parsePath(bytes: Uint8Array): ParsedPath {
  if (bytes.length === 0) throw new SysError(ENOENT, 'empty path');
  const components: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      const len = i - start;
      if (len > NAME_MAX) throw new SysError(ENAMETOOLONG);
      if (len > 0) components.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, len).toString('latin1'));
      start = i + 1;
    }
  }
  return {
    absolute: bytes[0] === 0x2f,
    components,
    trailingSlash: bytes.length > 1 && bytes[bytes.length - 1] === 0x2f,
  };
}

/** A host-side string path (UTF-8), e.g. a grant's guest path or a seeded file's name. */
export function parseHostPath(path: string): ParsedPath {
  return parsePath(new Uint8Array(Buffer.from(path, 'utf8')));
}

/**
 * Reads and splits a guest path argument: EFAULT when it runs off memory, ENAMETOOLONG when it
 * needs more than PATH_MAX bytes with its NUL (as Linux counts).
 */
export function readGuestPath(memory: GuestMemory, ptr: number): ParsedPath {
  return parsePath(memory.cstringBytes(ptr, PATH_MAX - 1));
}

/** A byte-string name as the bytes the guest sees (getdents64). */
export function nameBytes(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(name, 'latin1'));
}
