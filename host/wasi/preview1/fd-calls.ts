import {
  SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_fsync, SYS_fdatasync, SYS_ftruncate, F_GETFL, F_SETFL,
  O_APPEND, O_NONBLOCK, O_DSYNC, O_SYNC, SEEK_SET, LINUX_DIRENT64_D_INO, LINUX_DIRENT64_D_OFF, LINUX_DIRENT64_D_RECLEN,
  LINUX_DIRENT64_D_TYPE, LINUX_DIRENT64_SIZE, DT_DIR, DT_REG, DT_LNK, DT_CHR, DT_BLK, DT_SOCK,
} from '../../abi/v1.js';
import { E, R, FILETYPE, FDFLAGS, WHENCE, FSTFLAGS, DIRENT, PREOPENTYPE_DIR } from '../wasi-abi.js';
import { type WasiContext, type WasiFn, errno, isErr, need, writeFilestat, OK } from './context.js';
import { filetypeOf } from './linux.js';

const encoder = new TextEncoder();

/** Reads a u64 argument as a bigint whatever the engine passed (i64 arrives as bigint). */
export const u64 = (v: bigint | number): bigint => BigInt.asUintN(64, BigInt(v));

function lo32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}
function hi32(v: bigint): number {
  return Number(BigInt.asIntN(32, v >> 32n));
}

function direntType(dt: number): number {
  switch (dt) {
    case DT_DIR: return FILETYPE.DIRECTORY;
    case DT_REG: return FILETYPE.REGULAR_FILE;
    case DT_LNK: return FILETYPE.SYMBOLIC_LINK;
    case DT_CHR: return FILETYPE.CHARACTER_DEVICE;
    case DT_BLK: return FILETYPE.BLOCK_DEVICE;
    case DT_SOCK: return FILETYPE.SOCKET_STREAM;
    default: return FILETYPE.UNKNOWN;
  }
}

/** The iovec list (wasm32 iovec and WASI's ciovec/iovec have the same 8-byte layout). */
function iovecs(ctx: WasiContext, iovs: number, count: number): { ptr: number; len: number }[] {
  const m = ctx.mem();
  m.check(iovs, count * 8);
  const out: { ptr: number; len: number }[] = [];
  for (let i = 0; i < count; i++) out.push({ ptr: m.u32(iovs + i * 8), len: m.u32(iovs + i * 8 + 4) });
  return out;
}

/**
 * Positioned reads and writes of an iovec: one pread64/pwrite64 per buffer at consecutive offsets.
 * In exceptionless mode they are all in flight together (one batch); the result counts the bytes
 * up to the first short transfer, as a vectored call would.
 */
function positioned(ctx: WasiContext, nr: number, kfd: number, iovs: number, count: number, offset: bigint): number | { n: number } {
  const list = iovecs(ctx, iovs, count).filter((v) => v.len > 0);
  if (list.length === 0) return { n: 0 };
  let off = offset;
  const calls = list.map((v) => {
    const c = { nr, fd: kfd, args: [kfd, v.ptr, v.len, lo32(off), hi32(off)] };
    off += BigInt(v.len);
    return c;
  });
  const results = ctx.sys.run(calls);
  let total = 0;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r < 0) return total > 0 ? { n: total } : errno(r);
    total += r;
    if (r < list[i]!.len) break;
  }
  return { n: total };
}

export function fdCalls(ctx: WasiContext): Record<string, WasiFn> {
  const mem = () => ctx.mem();
  return {
    fd_advise(fd: number, offset: bigint, len: bigint, advice: number) {
      const f = need(ctx, fd, R.FD_ADVISE);
      if (isErr(f)) return f;
      if (advice > 5) return E.INVAL;
      void offset;
      void len;
      if (f.filetype !== FILETYPE.REGULAR_FILE && f.filetype !== FILETYPE.DIRECTORY) return E.SPIPE;
      return OK; // advice only: the kernels have no page cache to steer
    },
    fd_allocate(fd: number, offset: bigint, len: bigint) {
      const f = need(ctx, fd, R.FD_ALLOCATE);
      if (isErr(f)) return f;
      if (u64(len) === 0n) return E.INVAL;
      const end = u64(offset) + u64(len);
      if (end > 0x7fff_ffff_ffff_ffffn) return E.FBIG;
      const st = ctx.sys.fstat(f.kfd);
      if (isErr(st)) return errno(st);
      if (f.filetype === FILETYPE.DIRECTORY) return E.ISDIR;
      if (f.filetype !== FILETYPE.REGULAR_FILE) return E.NODEV;
      if (st.size >= end) return OK;
      const r = ctx.sys.call(SYS_ftruncate, f.kfd, f.kfd, lo32(end), hi32(end));
      return r < 0 ? errno(r) : OK;
    },
    fd_close(fd: number) {
      const f = ctx.fds.get(fd);
      if (!f) return E.BADF;
      ctx.fds.remove(fd);
      const r = ctx.sys.close(f.kfd);
      return r < 0 ? errno(r) : OK;
    },
    fd_datasync(fd: number) {
      const f = need(ctx, fd, R.FD_DATASYNC);
      if (isErr(f)) return f;
      const r = ctx.sys.call(SYS_fdatasync, f.kfd, f.kfd);
      return r < 0 ? errno(r) : OK;
    },
    fd_sync(fd: number) {
      const f = need(ctx, fd, R.FD_SYNC);
      if (isErr(f)) return f;
      const r = ctx.sys.call(SYS_fsync, f.kfd, f.kfd);
      return r < 0 ? errno(r) : OK;
    },
    fd_fdstat_get(fd: number, buf: number) {
      const f = ctx.fds.get(fd);
      if (!f) return E.BADF;
      mem().check(buf, 24);
      const fl = ctx.sys.fcntl(f.kfd, F_GETFL);
      let flags = 0;
      if (fl >= 0) {
        if (fl & O_APPEND) flags |= FDFLAGS.APPEND;
        if (fl & O_NONBLOCK) flags |= FDFLAGS.NONBLOCK;
        if ((fl & O_SYNC) === O_SYNC) flags |= FDFLAGS.SYNC | FDFLAGS.RSYNC;
        else if (fl & O_DSYNC) flags |= FDFLAGS.DSYNC;
      }
      const m = mem();
      m.fill(buf, 24);
      m.setU8(buf, f.filetype);
      m.view.setUint16(buf + 2, flags, true);
      m.view.setBigUint64(buf + 8, BigInt(f.rightsBase), true);
      m.view.setBigUint64(buf + 16, BigInt(f.rightsInheriting), true);
      return OK;
    },
    fd_fdstat_set_flags(fd: number, flags: number) {
      const f = need(ctx, fd, R.FD_FDSTAT_SET_FLAGS);
      if (isErr(f)) return f;
      if (flags & ~0x1f) return E.INVAL;
      // Linux's F_SETFL changes only O_APPEND and O_NONBLOCK; the sync flags are fixed at open.
      if (flags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC | FDFLAGS.SYNC)) return E.NOTSUP;
      const fl = ctx.sys.fcntl(f.kfd, F_GETFL);
      if (fl < 0) return errno(fl);
      let next = fl & ~(O_APPEND | O_NONBLOCK);
      if (flags & FDFLAGS.APPEND) next |= O_APPEND;
      if (flags & FDFLAGS.NONBLOCK) next |= O_NONBLOCK;
      const r = ctx.sys.fcntl(f.kfd, F_SETFL, next);
      return r < 0 ? errno(r) : OK;
    },
    fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint) {
      const f = ctx.fds.get(fd);
      if (!f) return E.BADF;
      const b = u64(base);
      const i = u64(inheriting);
      // Rights can only be dropped, never gained.
      if ((b & ~BigInt(f.rightsBase)) !== 0n || (i & ~BigInt(f.rightsInheriting)) !== 0n) return E.NOTCAPABLE;
      f.rightsBase = Number(b);
      f.rightsInheriting = Number(i);
      return OK;
    },
    fd_filestat_get(fd: number, buf: number) {
      const f = need(ctx, fd, R.FD_FILESTAT_GET);
      if (isErr(f)) return f;
      mem().check(buf, 64);
      const st = ctx.sys.fstat(f.kfd);
      if (isErr(st)) return errno(st);
      writeFilestat(ctx, buf, st, filetypeOf(st.mode));
      return OK;
    },
    fd_filestat_set_size(fd: number, size: bigint) {
      const f = need(ctx, fd, R.FD_FILESTAT_SET_SIZE);
      if (isErr(f)) return f;
      const s = u64(size);
      if (s > 0x7fff_ffff_ffff_ffffn) return E.INVAL;
      const r = ctx.sys.call(SYS_ftruncate, f.kfd, f.kfd, lo32(s), hi32(s));
      return r < 0 ? errno(r) : OK;
    },
    fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, fst: number) {
      const f = need(ctx, fd, R.FD_FILESTAT_SET_TIMES);
      if (isErr(f)) return f;
      if (fst & ~0xf) return E.INVAL;
      if ((fst & FSTFLAGS.ATIM && fst & FSTFLAGS.ATIM_NOW) || (fst & FSTFLAGS.MTIM && fst & FSTFLAGS.MTIM_NOW)) return E.INVAL;
      const r = ctx.sys.utimens(f.kfd, 0, u64(atim), u64(mtim), fst, 0);
      return r < 0 ? errno(r) : OK;
    },
    fd_pread(fd: number, iovs: number, count: number, offset: bigint, nread: number) {
      const f = need(ctx, fd, R.FD_READ | R.FD_SEEK);
      if (isErr(f)) return f;
      if (f.filetype === FILETYPE.DIRECTORY) return E.ISDIR;
      mem().check(nread, 4);
      const r = positioned(ctx, SYS_pread64, f.kfd, iovs, count, u64(offset));
      if (isErr(r)) return r;
      mem().setU32(nread, r.n);
      return OK;
    },
    fd_pwrite(fd: number, iovs: number, count: number, offset: bigint, nwritten: number) {
      const f = need(ctx, fd, R.FD_WRITE | R.FD_SEEK);
      if (isErr(f)) return f;
      mem().check(nwritten, 4);
      const r = positioned(ctx, SYS_pwrite64, f.kfd, iovs, count, u64(offset));
      if (isErr(r)) return r;
      mem().setU32(nwritten, r.n);
      return OK;
    },
    fd_read(fd: number, iovs: number, count: number, nread: number) {
      const f = need(ctx, fd, R.FD_READ);
      if (isErr(f)) return f;
      mem().check(nread, 4);
      const r = ctx.sys.call(SYS_readv, f.kfd, f.kfd, iovs, count);
      if (r < 0) return errno(r);
      mem().setU32(nread, r);
      return OK;
    },
    fd_write(fd: number, iovs: number, count: number, nwritten: number) {
      const f = need(ctx, fd, R.FD_WRITE);
      if (isErr(f)) return f;
      mem().check(nwritten, 4);
      const r = ctx.sys.call(SYS_writev, f.kfd, f.kfd, iovs, count);
      if (r < 0) return errno(r);
      mem().setU32(nwritten, r);
      return OK;
    },
    fd_seek(fd: number, offset: bigint, whence: number, out: number) {
      const off = BigInt.asIntN(64, BigInt(offset));
      // A pure position query needs only fd_tell (wasi-libc's lseek(fd, 0, SEEK_CUR)).
      const f = need(ctx, fd, off === 0n && whence === WHENCE.CUR ? R.FD_TELL : R.FD_SEEK);
      if (isErr(f)) return f;
      if (whence > 2) return E.INVAL;
      mem().check(out, 8);
      const r = ctx.sys.lseek(f.kfd, off, whence);
      if (r < 0) return errno(r);
      mem().view.setBigUint64(out >>> 0, BigInt(r), true);
      return OK;
    },
    fd_tell(fd: number, out: number) {
      const f = need(ctx, fd, R.FD_TELL);
      if (isErr(f)) return f;
      mem().check(out, 8);
      const r = ctx.sys.lseek(f.kfd, 0n, WHENCE.CUR);
      if (r < 0) return errno(r);
      mem().view.setBigUint64(out >>> 0, BigInt(r), true);
      return OK;
    },
    fd_prestat_get(fd: number, buf: number) {
      const f = ctx.fds.get(fd);
      if (!f || f.preopen === undefined) return E.BADF;
      const m = mem();
      m.check(buf, 8);
      m.fill(buf, 8);
      m.setU8(buf, PREOPENTYPE_DIR);
      m.setU32(buf + 4, encoder.encode(f.preopen).length);
      return OK;
    },
    fd_prestat_dir_name(fd: number, path: number, len: number) {
      const f = ctx.fds.get(fd);
      if (!f || f.preopen === undefined) return E.BADF;
      const name = encoder.encode(f.preopen);
      if (len >>> 0 < name.length) return E.NAMETOOLONG;
      mem().write(path, name);
      return OK;
    },
    fd_renumber(from: number, to: number) {
      const a = ctx.fds.get(from);
      const b = ctx.fds.get(to);
      if (!a || !b) return E.BADF;
      if (from === to) return OK;
      ctx.fds.remove(from);
      ctx.fds.set(to, a);
      ctx.sys.close(b.kfd);
      return OK;
    },
    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufused: number) {
      const d = ctx.fds.get(fd);
      if (d && d.filetype !== FILETYPE.DIRECTORY) return E.NOTDIR;
      const f = need(ctx, fd, R.FD_READDIR);
      if (isErr(f)) return f;
      const m = mem();
      const cap = bufLen >>> 0;
      m.check(buf, cap);
      m.check(bufused, 4);
      const c = u64(cookie);
      if (c > 0x7fff_ffff_ffff_ffffn) return E.INVAL;
      const pos = ctx.sys.lseek(f.kfd, c, SEEK_SET);
      if (pos < 0) return errno(pos);
      const chunk = Math.min(Math.max(cap * 2, 1024), 32768);
      const kbuf = ctx.sys.alloc(chunk);
      let used = 0;
      while (used < cap) {
        const n = ctx.sys.getdents(f.kfd, kbuf, chunk);
        if (n < 0) return errno(n);
        if (n === 0) break;
        for (let p = 0; p < n && used < cap; ) {
          const at = kbuf + p;
          const reclen = m.view.getUint16(at + LINUX_DIRENT64_D_RECLEN, true);
          const nameBytes = m.bytes(at + LINUX_DIRENT64_SIZE, reclen - LINUX_DIRENT64_SIZE);
          const nameLen = nameBytes.indexOf(0) < 0 ? nameBytes.length : nameBytes.indexOf(0);
          const rec = new Uint8Array(DIRENT.SIZEOF + nameLen);
          const v = new DataView(rec.buffer);
          v.setBigUint64(DIRENT.NEXT, m.view.getBigUint64(at + LINUX_DIRENT64_D_OFF, true), true);
          v.setBigUint64(DIRENT.INO, m.view.getBigUint64(at + LINUX_DIRENT64_D_INO, true), true);
          v.setUint32(DIRENT.NAMLEN, nameLen, true);
          v.setUint8(DIRENT.TYPE, direntType(m.bytes(at + LINUX_DIRENT64_D_TYPE, 1)[0]!));
          rec.set(nameBytes.subarray(0, nameLen), DIRENT.SIZEOF);
          // The last record is cut to fit: a full buffer tells the program to call again.
          const take = Math.min(rec.length, cap - used);
          m.write(buf + used, rec.subarray(0, take));
          used += take;
          p += reclen;
        }
      }
      m.setU32(bufused, used);
      return OK;
    },
  };
}
