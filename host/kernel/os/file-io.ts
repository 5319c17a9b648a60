import {
  EBADF,
  EINVAL,
  EISDIR,
  ENXIO,
  O_ACCMODE,
  O_APPEND,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from '../../abi/v1.js';
import { SysError } from '../../errors.js';
import type { GuestBuffers } from '../common/iovec.js';
import { writeStat } from '../common/stat.js';
import { parsePath } from '../common/path.js';
import { FileKind, type SharedFileTable } from './file-table.js';
import { fsFstat, fsFsync, fsFtruncate, fsReadv, fsWritev, type FsOp } from './fs-driver.js';
import type { OsProcess } from './process.js';
import { hostStat } from './stat-info.js';

/** SEEK_DATA and SEEK_HOLE (Linux values; not in the ABI table). */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

function accessOf(flags: number): number {
  return flags & O_ACCMODE;
}

export function canRead(flags: number): boolean {
  const m = accessOf(flags);
  return m === O_RDONLY || m === O_RDWR;
}

export function canWrite(flags: number): boolean {
  const m = accessOf(flags);
  return m === O_WRONLY || m === O_RDWR;
}

/** The file offset, asking the host for the end of file when an O_APPEND write left it there. */
function* currentPosition(t: SharedFileTable, s: number): FsOp<number> {
  if (t.atEnd(s)) {
    const st = yield* fsFstat(t.hostFd(s));
    t.setPosition(s, Number(st.size));
  }
  return t.position(s);
}

/** read/readv (position null: at the file offset, advancing it) or pread64. */
export function* readFile(t: SharedFileTable, s: number, sink: GuestBuffers, position: number | null): FsOp<number> {
  if (t.kind(s) !== FileKind.File) throw new SysError(EISDIR);
  if (!canRead(t.flags(s))) throw new SysError(EBADF);
  if (sink.length === 0) return 0;
  if (position !== null) return yield* fsReadv(t.hostFd(s), sink.views(), position);
  yield* currentPosition(t, s);
  const start = t.reserve(s, sink.length);
  let n = 0;
  try {
    n = yield* fsReadv(t.hostFd(s), sink.views(), start);
  } finally {
    t.settle(s, start, sink.length, n);
  }
  return n;
}

/** write/writev (position null: at the file offset, or the end with O_APPEND) or pwrite64. */
export function* writeFile(t: SharedFileTable, s: number, source: GuestBuffers, position: number | null): FsOp<number> {
  const flags = t.flags(s);
  if (t.kind(s) !== FileKind.File || !canWrite(flags)) throw new SysError(EBADF);
  if (source.length === 0) return 0;
  const host = t.hostFd(s);
  if ((flags & O_APPEND) !== 0) {
    // Like Linux, pwrite on an O_APPEND descriptor appends too. The host fd was opened with
    // O_APPEND when the guest's was, so the host appends atomically; one switched to O_APPEND
    // later with F_SETFL writes at the size read just before (not atomic against other writers).
    // pwrite leaves the file offset where it was, as Linux's does: an end of file a write left it at
    // is read before this write moves that end.
    if (position !== null) yield* currentPosition(t, s);
    const at = t.hostAppend(s) ? null : Number((yield* fsFstat(host)).size);
    const n = yield* fsWritev(host, source.views(), at);
    if (position === null) t.markAtEnd(s);
    return n;
  }
  if (position !== null) return yield* fsWritev(host, source.views(), position);
  yield* currentPosition(t, s);
  const start = t.reserve(s, source.length);
  let n = 0;
  try {
    n = yield* fsWritev(host, source.views(), start);
  } finally {
    t.settle(s, start, source.length, n);
  }
  return n;
}

/** lseek: files by bytes (SEEK_DATA/SEEK_HOLE too, a file being all data); directories by getdents cookie. */
export function* seekFile(t: SharedFileTable, s: number, offset: number, whence: number): FsOp<number> {
  const kind = t.kind(s);
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = kind === FileKind.File ? yield* currentPosition(t, s) : t.position(s);
  else if (kind !== FileKind.File) throw new SysError(EINVAL);
  else if (whence === SEEK_END || whence === SEEK_DATA || whence === SEEK_HOLE) {
    const size = Number((yield* fsFstat(t.hostFd(s))).size);
    if (whence === SEEK_END) base = size;
    else {
      if (offset < 0) throw new SysError(EINVAL);
      if (offset >= size) throw new SysError(ENXIO);
      const target = whence === SEEK_DATA ? offset : size;
      t.setPosition(s, target);
      return target;
    }
  } else throw new SysError(EINVAL);
  const target = base + offset;
  if (target < 0 || !Number.isSafeInteger(target)) throw new SysError(EINVAL);
  t.setPosition(s, target);
  return target;
}

/** The components of the guest path a directory was opened by. */
export function dirComponents(t: SharedFileTable, s: number): string[] {
  return [...parsePath(t.path(s)).components];
}

export function* fstatFile(p: OsProcess, s: number, statPtr: number): FsOp<number> {
  const t = p.files;
  if (t.kind(s) === FileKind.SyntheticDir) {
    writeStat(p.memory, statPtr, p.sandbox.syntheticStat(dirComponents(t, s)));
    return 0;
  }
  const st = yield* fsFstat(t.hostFd(s));
  if (p.alive) writeStat(p.memory, statPtr, hostStat(st));
  return 0;
}

export function* truncateFile(t: SharedFileTable, s: number, length: number): FsOp<number> {
  if (length < 0 || t.kind(s) !== FileKind.File || !canWrite(t.flags(s))) throw new SysError(EINVAL);
  yield* fsFtruncate(t.hostFd(s), length);
  return 0;
}

export function* syncFile(t: SharedFileTable, s: number, dataOnly: boolean): FsOp<number> {
  if (t.kind(s) === FileKind.SyntheticDir) return 0;
  yield* fsFsync(t.hostFd(s), dataOnly);
  return 0;
}
