import * as fs from 'node:fs';
import { EBADF, ENOENT, S_IFDIR } from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { parseHostPath, type ParsedPath } from '../common/path.js';
import { objectStat, type StatInfo } from '../common/stat.js';
import type { Grant } from '../kernel.js';
import { openRoot, type WalkRoot } from './beneath.js';
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
 * Symlinks and races: every path is resolved beneath the root of its grant by descriptors, one name
 * at a time (beneath.ts): a symlink is followed only as far as it stays inside the grant it was
 * reached through, and no check is separated from the call it guards, so a guest renaming
 * directories and symlinks of its own grant on other threads while it resolves paths through them
 * cannot reach outside the grant (docs/security.md).
 */

/** One granted directory, held open for the walks beneath it. */
export class GrantRoot implements WalkRoot {
  private walks = 0;
  private closing = false;

  constructor(
    /** Where the guest sees it: normalised components of an absolute path. */
    readonly guest: readonly string[],
    /** The host directory's real path (when granted). */
    readonly host: Buffer,
    /** Granted with `:ro`: nothing below it may be created, changed, removed or renamed (EROFS). */
    readonly readOnly: boolean,
    /** The directory itself, open with O_PATH: walks start here, whatever happens to `host` later. */
    readonly fd: number,
  ) {}

  enter(): void {
    if (this.closing) throw new SysError(EBADF, 'the process is gone');
    this.walks++;
  }

  leave(): void {
    if (--this.walks === 0 && this.closing) fs.closeSync(this.fd);
  }

  /** Closes the root once no walk uses it any more (a number reused meanwhile must never be walked). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.walks === 0) fs.closeSync(this.fd);
  }
}

/** Where a normalised guest path falls. */
export type Place =
  | { readonly kind: 'grant'; readonly grant: GrantRoot; readonly rest: readonly string[]; readonly guest: readonly string[] }
  | { readonly kind: 'synthetic'; readonly guest: readonly string[]; readonly children: readonly string[] };

export type GrantPlace = Extract<Place, { kind: 'grant' }>;

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
      let fd: number;
      try {
        host = fs.realpathSync(g.hostPath, { encoding: 'buffer' });
        if (!fs.statSync(host).isDirectory()) throw new Error('not a directory');
        fd = openRoot(host);
      } catch (e) {
        log(`os kernel: grant ${g.hostPath} -> ${g.guestPath} ignored: ${(e as Error).message}`);
        continue;
      }
      this.grants.push(new GrantRoot(guest.components, host, g.readOnly === true, fd));
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

  /** Lets the grant roots go (each closes when its last walk ends). */
  close(): void {
    for (const g of this.grants) g.close();
  }

  /**
   * The grant whose host directory holds `hostPath` (a real path, such as an open descriptor's
   * /proc link reads), or null: what a call on a descriptor alone checks (utimensat's read-only rule).
   */
  grantHolding(hostPath: Buffer): GrantRoot | null {
    for (const grant of this.grants) {
      const root = grant.host;
      if (hostPath.equals(root) || (hostPath.length > root.length && hostPath.subarray(0, root.length).equals(root) && (hostPath[root.length] === 0x2f || root.equals(Buffer.from('/'))))) return grant;
    }
    return null;
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
