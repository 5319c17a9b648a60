import {
  SYS_mkdirat, SYS_unlinkat, SYS_renameat, SYS_linkat, SYS_symlinkat, SYS_readlinkat, AT_SYMLINK_FOLLOW, PATH_MAX, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, O_RDONLY, O_WRONLY, O_RDWR, O_CREAT,
  O_DIRECTORY, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_SYNC, O_NOFOLLOW, S_IFMT, S_IFDIR,
} from '../../abi/v1.js';
import {
  E, R, FILETYPE, OFLAGS, FDFLAGS, FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, RIGHTS_DIRECTORY, RIGHTS_DIRECTORY_INHERITING,
  RIGHTS_REGULAR_FILE, RIGHTS_TTY, RIGHTS_SOCKET,
} from '../wasi-abi.js';
import { type WasiContext, type WasiFn, errno, isErr, need, writeFilestat, OK } from './context.js';
import { u64 } from './fd-calls.js';
import { filetypeOf } from './linux.js';

/** A path the kernel may look up: the directory's kernel descriptor and the NUL-terminated copy. */
interface Resolved {
  readonly kdir: number;
  readonly path: number;
}

/**
 * Checks a path against its directory descriptor's capability, WASI's rule: the path is relative
 * and never climbs above the directory it is looked up in. Absolute paths and `..` beyond the
 * directory answer ENOTCAPABLE before the kernel sees them. Symlinks are followed by the kernel,
 * which confines them to the grant behind the preopen (one that leads out answers EACCES, a
 * dangling one ENOENT, a loop ELOOP).
 */
export function resolve(ctx: WasiContext, fd: number, rights: number, ptr: number, len: number): Resolved | number {
  // The order of the checks is wasmtime's: a descriptor, then a directory, then the rights.
  const d = ctx.fds.get(fd);
  if (!d) return E.BADF;
  if (d.filetype !== FILETYPE.DIRECTORY) return E.NOTDIR;
  const f = need(ctx, fd, rights);
  if (isErr(f)) return f;
  const bytes = ctx.mem().copy(ptr, len);
  if (bytes.includes(0)) return E.INVAL; // WASI strings carry their length; a NUL would cut the path
  if (bytes.length === 0) return E.NOENT;
  if (bytes[0] === 0x2f) return E.NOTCAPABLE; // "/..." names outside every capability
  let depth = 0;
  for (const part of new TextDecoder().decode(bytes).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (--depth < 0) return E.NOTCAPABLE;
    } else depth++;
  }
  const path = ctx.sys.path(bytes);
  if (path < 0) return errno(path);
  return { kdir: f.kfd, path };
}

function rightsFor(filetype: number): [number, number] {
  switch (filetype) {
    case FILETYPE.DIRECTORY: return [RIGHTS_DIRECTORY, RIGHTS_DIRECTORY_INHERITING];
    case FILETYPE.REGULAR_FILE: return [RIGHTS_REGULAR_FILE, 0];
    case FILETYPE.SOCKET_STREAM: return [RIGHTS_SOCKET, 0];
    default: return [RIGHTS_TTY, 0];
  }
}

export function pathCalls(ctx: WasiContext): Record<string, WasiFn> {
  const mem = () => ctx.mem();
  const simple = (nr: number, rights: number, flags: number) => (fd: number, ptr: number, len: number) => {
    const p = resolve(ctx, fd, rights, ptr, len);
    if (isErr(p)) return p;
    const r = nr === SYS_mkdirat ? ctx.sys.call(nr, p.kdir, p.kdir, p.path, 0o777) : ctx.sys.call(nr, p.kdir, p.kdir, p.path, flags);
    return r < 0 ? errno(r) : OK;
  };
  return {
    path_open(fd: number, lookup: number, ptr: number, len: number, oflags: number, base: bigint, inheriting: bigint, fdflags: number, out: number) {
      let needed = R.PATH_OPEN;
      if (oflags & OFLAGS.CREAT) needed |= R.PATH_CREATE_FILE;
      if (oflags & OFLAGS.TRUNC) needed |= R.PATH_FILESTAT_SET_SIZE;
      const dir = ctx.fds.get(fd);
      const p = resolve(ctx, fd, needed, ptr, len);
      if (isErr(p)) return p;
      if (oflags & ~0xf || fdflags & ~0x1f) return E.INVAL;
      const wantBase = Number(u64(base) & BigInt(2 ** 30 - 1));
      const wantInh = Number(u64(inheriting) & BigInt(2 ** 30 - 1));
      // A descriptor opened through a directory gets at most what the directory passes on.
      if ((wantBase & ~dir!.rightsInheriting) !== 0 || (wantInh & ~dir!.rightsInheriting) !== 0) return E.NOTCAPABLE;
      mem().check(out, 4);
      const read = (wantBase & (R.FD_READ | R.FD_READDIR)) !== 0;
      const write = (wantBase & (R.FD_DATASYNC | R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE)) !== 0;
      let flags = write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
      if (oflags & OFLAGS.CREAT) flags |= O_CREAT;
      if (oflags & OFLAGS.DIRECTORY) flags |= O_DIRECTORY;
      if (oflags & OFLAGS.EXCL) flags |= O_EXCL;
      if (oflags & OFLAGS.TRUNC) flags |= O_TRUNC;
      if (fdflags & FDFLAGS.APPEND) flags |= O_APPEND;
      if (fdflags & FDFLAGS.NONBLOCK) flags |= O_NONBLOCK;
      if (fdflags & FDFLAGS.DSYNC) flags |= O_DSYNC;
      if (fdflags & (FDFLAGS.SYNC | FDFLAGS.RSYNC)) flags |= O_SYNC;
      if (!(lookup & LOOKUP_SYMLINK_FOLLOW)) flags |= O_NOFOLLOW;
      const kfd = ctx.sys.openat(p.kdir, p.path, flags, 0o666);
      if (kfd < 0) return errno(kfd);
      const st = ctx.sys.fstat(kfd);
      const filetype = isErr(st) ? FILETYPE.UNKNOWN : filetypeOf(st.mode);
      if (oflags & OFLAGS.DIRECTORY && !isErr(st) && (st.mode & S_IFMT) !== S_IFDIR) {
        ctx.sys.close(kfd);
        return E.NOTDIR;
      }
      const [maxBase, maxInh] = rightsFor(filetype);
      const wasiFd = ctx.fds.add({ kfd, filetype, rightsBase: wantBase & maxBase, rightsInheriting: wantInh & maxInh });
      mem().setU32(out, wasiFd);
      return OK;
    },
    path_filestat_get(fd: number, lookup: number, ptr: number, len: number, buf: number) {
      const p = resolve(ctx, fd, R.PATH_FILESTAT_GET, ptr, len);
      if (isErr(p)) return p;
      mem().check(buf, 64);
      const st = ctx.sys.statat(p.kdir, p.path, lookup & LOOKUP_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
      if (isErr(st)) return errno(st);
      writeFilestat(ctx, buf, st, filetypeOf(st.mode));
      return OK;
    },
    path_filestat_set_times(fd: number, _lookup: number, ptr: number, len: number, _atim: bigint, _mtim: bigint, fst: number) {
      const p = resolve(ctx, fd, R.PATH_FILESTAT_SET_TIMES, ptr, len);
      if (isErr(p)) return p;
      if (fst & ~0xf) return E.INVAL;
      if ((fst & FSTFLAGS.ATIM && fst & FSTFLAGS.ATIM_NOW) || (fst & FSTFLAGS.MTIM && fst & FSTFLAGS.MTIM_NOW)) return E.INVAL;
      const r = ctx.sys.utimens(p.kdir, p.path, u64(_atim), u64(_mtim), fst, _lookup & LOOKUP_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
      return r < 0 ? errno(r) : OK;
    },
    path_create_directory: simple(SYS_mkdirat, R.PATH_CREATE_DIRECTORY, 0),
    path_remove_directory: simple(SYS_unlinkat, R.PATH_REMOVE_DIRECTORY, AT_REMOVEDIR),
    path_unlink_file: simple(SYS_unlinkat, R.PATH_UNLINK_FILE, 0),
    path_rename(fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) {
      const a = resolve(ctx, fd, R.PATH_RENAME_SOURCE, oldPtr, oldLen);
      if (isErr(a)) return a;
      const b = resolve(ctx, newFd, R.PATH_RENAME_TARGET, newPtr, newLen);
      if (isErr(b)) return b;
      const r = ctx.sys.call(SYS_renameat, a.kdir, a.kdir, a.path, b.kdir, b.path);
      return r < 0 ? errno(r) : OK;
    },
    path_link(oldFd: number, _lookup: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) {
      const a = resolve(ctx, oldFd, R.PATH_LINK_SOURCE, oldPtr, oldLen);
      if (isErr(a)) return a;
      const b = resolve(ctx, newFd, R.PATH_LINK_TARGET, newPtr, newLen);
      if (isErr(b)) return b;
      if (_lookup & ~LOOKUP_SYMLINK_FOLLOW) return E.INVAL;
      const r = ctx.sys.call(SYS_linkat, a.kdir, a.kdir, a.path, b.kdir, b.path, _lookup & LOOKUP_SYMLINK_FOLLOW ? AT_SYMLINK_FOLLOW : 0);
      return r < 0 ? errno(r) : OK;
    },
    path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number) {
      const target = mem().copy(oldPtr, oldLen);
      const b = resolve(ctx, fd, R.PATH_SYMLINK, newPtr, newLen);
      if (isErr(b)) return b;
      if (target.includes(0)) return E.INVAL;
      if (target.length === 0) return E.NOENT;
      // The target is stored as written and resolved only inside the grant when followed; an
      // absolute one names nothing a capability reaches, so it is refused here (EPERM, as wasmtime
      // and node:wasi answer).
      if (target[0] === 0x2f) return E.PERM;
      const t = ctx.sys.path(target);
      if (t < 0) return errno(t);
      const r = ctx.sys.call(SYS_symlinkat, b.kdir, t, b.kdir, b.path);
      return r < 0 ? errno(r) : OK;
    },
    path_readlink(fd: number, ptr: number, len: number, buf: number, bufLen: number, used: number) {
      const p = resolve(ctx, fd, R.PATH_READLINK, ptr, len);
      if (isErr(p)) return p;
      mem().check(buf, bufLen);
      mem().check(used, 4);
      const tmp = ctx.sys.alloc(PATH_MAX);
      const n = ctx.sys.call(SYS_readlinkat, p.kdir, p.kdir, p.path, tmp, PATH_MAX);
      if (n < 0) return errno(n);
      // A buffer too small gets the target's first bytes (Linux's and wasmtime's answer).
      const k = Math.min(n, bufLen >>> 0);
      mem().write(buf, mem().copy(tmp, k));
      mem().setU32(used, k);
      return OK;
    },
  };
}
