import * as fs from 'node:fs';
import { EACCES, ENOENT, S_IFDIR } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { parseHostPath, type ParsedPath } from '../common/path.js';
import { objectStat, type StatInfo } from '../common/stat.js';
import type { Grant } from '../kernel.js';
import { fsLstat, fsRealpath, type FsOp } from './fs-driver.js';
import { realtimeNow, SYNTHETIC_DEV } from './stat-info.js';

/**
 * The guest's view of the host filesystem: the union of its grants. Guest paths are absolute (a
 * relative path starts at "/", the working directory, or at a dirfd's directory) and are normalised
 * lexically: "." vanishes and ".." removes the previous name, never going above "/". So ".." can
 * never climb out of a grant: "/www/../etc" is "/etc", which is outside every grant. (Linux resolves
 * ".." physically, after following symlinks; lexical resolution differs only for paths that go
 * through a symlink and then up, and "file/.." resolves here where Linux says ENOTDIR.)
 *
 * Errno choices, consistently:
 * - a name outside every grant does not exist: ENOENT (the guest cannot tell it from a missing file);
 * - the directories above the grants ("/" when grants are at /www and /data) exist, read-only, and
 *   list the grants below them; creating, removing or renaming there is EACCES;
 * - a symlink inside a grant that resolves outside it is EACCES: the name exists but leads somewhere
 *   forbidden (a symlink into another grant's host directory too: each path is checked against the
 *   root of the grant it was reached through);
 * - a grant's root cannot be removed or renamed: EBUSY, like a mount point;
 * - below a read-only grant (`:ro`), opening for writing or truncating, creating, removing and
 *   renaming are EROFS, like on a read-only mount (a symlink there still leads only inside it).
 *
 * Symlinks: before anything is opened, created or removed, the real path of its parent directory is
 * computed and must lie inside the grant's real root; a final symlink is followed only after its real
 * path is checked the same way, and the host call then uses the checked real path with O_NOFOLLOW,
 * so a symlink swapped in for the final name afterwards is refused (ELOOP), never followed. A window
 * remains (TOCTOU): if a directory on the checked path is replaced by a symlink between the check and
 * the host call, the call follows it. Guests cannot create symlinks through this kernel, so only
 * another host process (or a rename of a directory holding a pre-existing escaping symlink racing
 * the call) could exploit it; closing it needs openat2(RESOLVE_BENEATH), which Node does not offer.
 */

/** One granted directory. */
export interface GrantRoot {
  /** Where the guest sees it: normalised components of an absolute path. */
  readonly guest: readonly string[];
  /** The host directory's real path. */
  readonly host: Buffer;
  /** Granted with `:ro`: nothing below it may be created, changed, removed or renamed (EROFS). */
  readonly readOnly: boolean;
}

/** Where a normalised guest path falls. */
export type Place =
  | { readonly kind: 'grant'; readonly grant: GrantRoot; readonly rest: readonly string[]; readonly guest: readonly string[] }
  | { readonly kind: 'synthetic'; readonly guest: readonly string[]; readonly children: readonly string[] };

export type GrantPlace = Extract<Place, { kind: 'grant' }>;

const SLASH = Buffer.from('/');

/** Joins host path components (latin1 byte strings) below a directory. */
export function hostJoin(dir: Buffer, names: readonly string[]): Buffer {
  if (names.length === 0) return dir;
  const parts: Buffer[] = [dir];
  for (const n of names) parts.push(SLASH, Buffer.from(n, 'latin1'));
  return Buffer.concat(parts);
}

/** True when `real` is `root` or below it. */
export function isInside(real: Buffer, root: Buffer): boolean {
  if (root.length === 1 && root[0] === 0x2f) return real[0] === 0x2f;
  if (real.length === root.length) return real.equals(root);
  return real.length > root.length && real[root.length] === 0x2f && real.subarray(0, root.length).equals(root);
}

/** Lexical normalisation of `path` against the directory `base` (components of an absolute path). */
export function normalize(base: readonly string[], path: ParsedPath): string[] {
  const out = path.absolute ? [] : [...base];
  for (const c of path.components) {
    if (c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/** A guest path as bytes ("/a/b"), for storing a directory's path. */
export function guestPathBytes(components: readonly string[]): Uint8Array {
  return new Uint8Array(Buffer.from('/' + components.join('/'), 'latin1'));
}

function startsWith(a: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

export class Sandbox {
  readonly grants: GrantRoot[] = [];
  private readonly born = realtimeNow();

  constructor(grants: readonly Grant[], log: (message: string) => void) {
    for (const g of grants) {
      const guest = parseHostPath(g.guestPath);
      if (!guest.absolute || guest.components.some((c) => c === '..' || c === '.')) {
        log(`os kernel: grant ${g.hostPath} -> ${g.guestPath} ignored: the guest path must be absolute and normalised`);
        continue;
      }
      let host: Buffer;
      try {
        host = fs.realpathSync(g.hostPath, { encoding: 'buffer' });
        if (!fs.statSync(host).isDirectory()) throw new Error('not a directory');
      } catch (e) {
        log(`os kernel: grant ${g.hostPath} -> ${g.guestPath} ignored: ${(e as Error).message}`);
        continue;
      }
      this.grants.push({ guest: guest.components, host, readOnly: g.readOnly === true });
    }
    // Longest guest path first: the deepest grant wins for nested guest paths.
    this.grants.sort((a, b) => b.guest.length - a.guest.length);
  }

  /** Where `components` (normalised, absolute) falls: a grant, a directory above grants, or nowhere. */
  place(components: readonly string[]): Place | null {
    for (const grant of this.grants) {
      if (startsWith(components, grant.guest)) {
        return { kind: 'grant', grant, rest: components.slice(grant.guest.length), guest: components };
      }
    }
    const children = new Set<string>();
    for (const grant of this.grants) {
      if (grant.guest.length > components.length && startsWith(grant.guest, components)) children.add(grant.guest[components.length]!);
    }
    if (children.size === 0) return null;
    return { kind: 'synthetic', guest: components, children: [...children].sort() };
  }

  /** place() or ENOENT. */
  require(components: readonly string[]): Place {
    const p = this.place(components);
    if (p === null) throw new SysError(ENOENT);
    return p;
  }

  /** Stat of a directory above the grants. */
  syntheticStat(components: readonly string[]): StatInfo {
    return objectStat(SYNTHETIC_DEV, syntheticIno(components), S_IFDIR | 0o555, this.born, 0, 2);
  }
}

/** A stable made-up inode number for a synthetic directory (FNV-1a of its path, never 0). */
export function syntheticIno(components: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from('/' + components.join('/'), 'latin1')) h = Math.imul(h ^ b, 0x01000193);
  return (h >>> 0) || 1;
}

/**
 * The checked real path of the directory holding the last name of a grant place (which must have
 * one), and that name: EACCES when a symlink on the way leads out of the grant.
 */
export function* parentOf(place: GrantPlace): FsOp<{ dir: Buffer; name: string }> {
  const rest = place.rest;
  const name = rest[rest.length - 1]!;
  if (rest.length === 1) return { dir: place.grant.host, name };
  const dir = yield* fsRealpath(hostJoin(place.grant.host, rest.slice(0, -1)));
  if (!isInside(dir, place.grant.host)) throw new SysError(EACCES, 'path leads out of its grant');
  return { dir, name };
}

/**
 * The host path a grant place names, checked: with `follow`, a final symlink is replaced by its
 * checked real path (ENOENT when dangling); without, the symlink itself is named.
 */
export function* hostPathOf(place: GrantPlace, follow: boolean): FsOp<Buffer> {
  if (place.rest.length === 0) return place.grant.host;
  const { dir, name } = yield* parentOf(place);
  const path = hostJoin(dir, [name]);
  if (!follow) return path;
  const st = yield* fsLstat(path);
  if (!st.isSymbolicLink()) return path;
  const real = yield* fsRealpath(path);
  if (!isInside(real, place.grant.host)) throw new SysError(EACCES, 'symlink leads out of its grant');
  return real;
}
