import {
  DT_BLK,
  DT_CHR,
  DT_DIR,
  DT_FIFO,
  DT_LNK,
  DT_REG,
  DT_SOCK,
  DT_UNKNOWN,
  EINVAL,
  ENOTDIR,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import { direntSize, DirentWriter } from '../common/dirent.js';
import { at } from './beneath.js';
import { dirComponents } from './file-io.js';
import { FileKind } from './file-table.js';
import { fsLstatMany, fsReaddir, type FsOp, type HostStats } from './fs-driver.js';
import type { OsProcess } from './process.js';
import { syntheticIno } from './sandbox.js';

function direntType(st: HostStats | null): number {
  if (st === null) return DT_UNKNOWN;
  if (st.isFile()) return DT_REG;
  if (st.isDirectory()) return DT_DIR;
  if (st.isSymbolicLink()) return DT_LNK;
  if (st.isFIFO()) return DT_FIFO;
  if (st.isSocket()) return DT_SOCK;
  if (st.isCharacterDevice()) return DT_CHR;
  if (st.isBlockDevice()) return DT_BLK;
  return DT_UNKNOWN;
}

interface Entry {
  readonly name: Buffer;
  /** Host path to lstat for d_ino and d_type, or a made-up inode (directories above the grants). */
  readonly host: Buffer | null;
  readonly ino: number;
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/**
 * The entries of a directory (".", "..", then the names in byte order): a fresh listing on every
 * call, the directory position (getdents64's d_off cookie) being an index into it. Entries added or
 * removed between two calls may therefore be skipped or seen twice, which POSIX allows for a
 * directory that changes while it is read. A host directory is listed through its open descriptor
 * (the directory itself, wherever it was renamed to, as on Linux); a directory above the grants
 * lists the grants below it.
 */
function* listing(p: OsProcess, s: number): FsOp<Entry[]> {
  const sb = p.sandbox;
  const components = dirComponents(p.files, s);
  const parent = components.slice(0, -1);
  const entryFor = (name: Buffer, comps: readonly string[]): Entry => {
    const place = sb.place(comps);
    if (place === null || place.kind === 'synthetic' || place.rest.length > 0) return { name, host: null, ino: syntheticIno(comps) };
    // A grant root: through the descriptor the sandbox holds ("." follows it to the directory).
    return { name, host: at(place.grant.fd, '.'), ino: 0 };
  };
  if (p.files.kind(s) === FileKind.SyntheticDir) {
    const place = sb.require(components);
    const children = place.kind === 'synthetic' ? place.children : [];
    const entries = [entryFor(DOT, components), entryFor(DOTDOT, parent)];
    for (const child of children) entries.push(entryFor(Buffer.from(child, 'latin1'), [...components, child]));
    return entries;
  }
  const dir = p.files.hostFd(s);
  const names = yield* fsReaddir(at(dir));
  names.sort(Buffer.compare);
  const place = sb.place(components);
  const atRoot = place !== null && place.kind === 'grant' && place.rest.length === 0;
  const up = atRoot ? entryFor(DOTDOT, parent) : { name: DOTDOT, host: at(dir, '..'), ino: 0 };
  const entries: Entry[] = [{ name: DOT, host: at(dir, '.'), ino: 0 }, up];
  for (const n of names) entries.push({ name: n, host: Buffer.concat([at(dir), Buffer.from('/'), n]), ino: 0 });
  return entries;
}

/**
 * getdents64 of the directory in slot `s`: the entries from its position (the d_off cookie) on that
 * fit in `count` bytes at `dirp`, then the position moves past them.
 */
export function* direntsOp(p: OsProcess, s: number, dirp: number, count: number): FsOp<number> {
  const t = p.files;
  if (t.kind(s) === FileKind.File) throw new SysError(ENOTDIR);
  p.memory.check(dirp, count);
  const entries = yield* listing(p, s);
  const cookie = t.position(s);
  // Which entries fit (a record's size depends on its name only), then their inodes and types.
  const batch: Entry[] = [];
  let used = 0;
  for (let i = cookie; i < entries.length; i++) {
    const size = direntSize(entries[i]!.name.length);
    if (used + size > count) break;
    used += size;
    batch.push(entries[i]!);
  }
  if (batch.length === 0 && cookie < entries.length) throw new SysError(EINVAL);
  const stats = yield* fsLstatMany(batch.map((e) => e.host ?? Buffer.alloc(0)));
  if (!p.alive) return 0;
  const out = new DirentWriter(p.memory, dirp, count);
  batch.forEach((e, i) => {
    const st = e.host === null ? null : stats[i]!;
    const ino = e.host === null ? e.ino : Number(st?.ino ?? 0) || 1;
    out.add(ino, cookie + i + 1, e.host === null ? DT_DIR : direntType(st), e.name);
  });
  t.setPosition(s, cookie + batch.length);
  return out.length;
}
