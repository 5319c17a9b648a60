import * as fs from 'node:fs';

/**
 * File operations are written once, as generators that yield host filesystem requests, and run by
 * one of two drivers:
 *
 * - SyncDriver performs each request with fs.*Sync at once, so the whole operation completes inside
 *   syscall(): the colocated (epoll) mode, where a file call blocks like read(2) on a file does in a
 *   traditional epoll server.
 * - AsyncDriver performs each request with the callback API (libuv's threadpool) and resumes the
 *   generator from the event loop, so a slow disk never stalls the sockets of a syscall thread.
 *
 * A request that fails throws its Node error into the generator (which may catch it) at the yield.
 */
export type FsRequest =
  | { readonly op: 'open'; readonly path: Buffer; readonly flags: number; readonly mode: number }
  | { readonly op: 'close'; readonly fd: number }
  | { readonly op: 'readv'; readonly fd: number; readonly buffers: Uint8Array[]; readonly position: number }
  | { readonly op: 'writev'; readonly fd: number; readonly buffers: Uint8Array[]; readonly position: number | null }
  | { readonly op: 'fstat'; readonly fd: number }
  | { readonly op: 'stat'; readonly path: Buffer }
  | { readonly op: 'lstat'; readonly path: Buffer }
  | { readonly op: 'lstatMany'; readonly paths: Buffer[] }
  | { readonly op: 'readlink'; readonly path: Buffer }
  | { readonly op: 'readdir'; readonly path: Buffer }
  | { readonly op: 'mkdir'; readonly path: Buffer; readonly mode: number }
  | { readonly op: 'unlink'; readonly path: Buffer }
  | { readonly op: 'rmdir'; readonly path: Buffer }
  | { readonly op: 'rename'; readonly from: Buffer; readonly to: Buffer }
  | { readonly op: 'ftruncate'; readonly fd: number; readonly length: number }
  | { readonly op: 'fsync'; readonly fd: number; readonly dataOnly: boolean }
  // symlinkat, linkat, utimensat (times in seconds, as Node takes them)
  | { readonly op: 'symlink'; readonly target: Buffer; readonly path: Buffer }
  | { readonly op: 'link'; readonly from: Buffer; readonly to: Buffer }
  | { readonly op: 'utimes'; readonly path: Buffer; readonly atime: number; readonly mtime: number; readonly follow: boolean }
  | { readonly op: 'futimes'; readonly fd: number; readonly atime: number; readonly mtime: number };

/** A file operation: yields requests, returns its result. */
export type FsOp<T> = Generator<FsRequest, T, unknown>;

export function* fsSymlink(target: Buffer, path: Buffer): FsOp<void> {
  yield { op: 'symlink', target, path };
}
export function* fsLink(from: Buffer, to: Buffer): FsOp<void> {
  yield { op: 'link', from, to };
}
export function* fsUtimes(path: Buffer, atime: number, mtime: number, follow: boolean): FsOp<void> {
  yield { op: 'utimes', path, atime, mtime, follow };
}
export function* fsFutimes(fd: number, atime: number, mtime: number): FsOp<void> {
  yield { op: 'futimes', fd, atime, mtime };
}

/** Stats with nanosecond times (bigint), as fstat needs them. */
export type HostStats = fs.BigIntStats;

export function* fsOpen(path: Buffer, flags: number, mode: number): FsOp<number> {
  return (yield { op: 'open', path, flags, mode }) as number;
}
export function* fsClose(fd: number): FsOp<void> {
  yield { op: 'close', fd };
}
export function* fsReadv(fd: number, buffers: Uint8Array[], position: number): FsOp<number> {
  return (yield { op: 'readv', fd, buffers, position }) as number;
}
export function* fsWritev(fd: number, buffers: Uint8Array[], position: number | null): FsOp<number> {
  return (yield { op: 'writev', fd, buffers, position }) as number;
}
export function* fsFstat(fd: number): FsOp<HostStats> {
  return (yield { op: 'fstat', fd }) as HostStats;
}
export function* fsStat(path: Buffer): FsOp<HostStats> {
  return (yield { op: 'stat', path }) as HostStats;
}
export function* fsLstat(path: Buffer): FsOp<HostStats> {
  return (yield { op: 'lstat', path }) as HostStats;
}
/** lstat of several paths at once (in parallel when asynchronous); null where one fails. */
export function* fsLstatMany(paths: Buffer[]): FsOp<(HostStats | null)[]> {
  return (yield { op: 'lstatMany', paths }) as (HostStats | null)[];
}
export function* fsReadlink(path: Buffer): FsOp<Buffer> {
  return (yield { op: 'readlink', path }) as Buffer;
}
export function* fsReaddir(path: Buffer): FsOp<Buffer[]> {
  return (yield { op: 'readdir', path }) as Buffer[];
}
export function* fsMkdir(path: Buffer, mode: number): FsOp<void> {
  yield { op: 'mkdir', path, mode };
}
export function* fsUnlink(path: Buffer): FsOp<void> {
  yield { op: 'unlink', path };
}
export function* fsRmdir(path: Buffer): FsOp<void> {
  yield { op: 'rmdir', path };
}
export function* fsRename(from: Buffer, to: Buffer): FsOp<void> {
  yield { op: 'rename', from, to };
}
export function* fsFtruncate(fd: number, length: number): FsOp<void> {
  yield { op: 'ftruncate', fd, length };
}
export function* fsFsync(fd: number, dataOnly: boolean): FsOp<void> {
  yield { op: 'fsync', fd, dataOnly };
}

export interface FsDriver {
  /** True when operations complete inside run() (colocated mode). */
  readonly synchronous: boolean;
  /** Runs `op`; `done` is called exactly once with its result or the error it threw. */
  run<T>(op: FsOp<T>, done: (error: unknown, value: T | undefined) => void): void;
}

const BUFFER = { encoding: 'buffer' } as const;
const BIGINT = { bigint: true } as const;

function performSync(r: FsRequest): unknown {
  switch (r.op) {
    case 'open':
      return fs.openSync(r.path, r.flags, r.mode);
    case 'close':
      return fs.closeSync(r.fd);
    case 'readv':
      return fs.readvSync(r.fd, r.buffers, r.position);
    case 'writev':
      return r.position === null ? fs.writevSync(r.fd, r.buffers) : fs.writevSync(r.fd, r.buffers, r.position);
    case 'fstat':
      return fs.fstatSync(r.fd, BIGINT);
    case 'stat':
      return fs.statSync(r.path, BIGINT);
    case 'lstat':
      return fs.lstatSync(r.path, BIGINT);
    case 'lstatMany':
      return r.paths.map((p) => {
        try {
          return fs.lstatSync(p, BIGINT);
        } catch {
          return null;
        }
      });
    case 'readlink':
      return fs.readlinkSync(r.path, BUFFER);
    case 'readdir':
      return fs.readdirSync(r.path, BUFFER);
    case 'mkdir':
      return fs.mkdirSync(r.path, { mode: r.mode });
    case 'unlink':
      return fs.unlinkSync(r.path);
    case 'rmdir':
      return fs.rmdirSync(r.path);
    case 'rename':
      return fs.renameSync(r.from, r.to);
    case 'ftruncate':
      return fs.ftruncateSync(r.fd, r.length);
    case 'fsync':
      return r.dataOnly ? fs.fdatasyncSync(r.fd) : fs.fsyncSync(r.fd);
    case 'symlink':
      return fs.symlinkSync(r.target, r.path);
    case 'link':
      return fs.linkSync(r.from, r.to);
    case 'utimes':
      return r.follow ? fs.utimesSync(r.path, r.atime, r.mtime) : fs.lutimesSync(r.path, r.atime, r.mtime);
    case 'futimes':
      return fs.futimesSync(r.fd, r.atime, r.mtime);
  }
}

type Callback = (error: unknown, value?: unknown) => void;

function performAsync(r: FsRequest, cb: Callback): void {
  switch (r.op) {
    case 'open':
      return fs.open(r.path, r.flags, r.mode, cb);
    case 'close':
      return fs.close(r.fd, cb);
    case 'readv':
      return fs.readv(r.fd, r.buffers, r.position, (e, n) => cb(e, n));
    case 'writev':
      if (r.position === null) return fs.writev(r.fd, r.buffers, (e, n) => cb(e, n));
      return fs.writev(r.fd, r.buffers, r.position, (e, n) => cb(e, n));
    case 'fstat':
      return fs.fstat(r.fd, BIGINT, cb);
    case 'stat':
      return fs.stat(r.path, BIGINT, cb);
    case 'lstat':
      return fs.lstat(r.path, BIGINT, cb);
    case 'lstatMany': {
      const out: (HostStats | null)[] = new Array(r.paths.length).fill(null);
      let left = r.paths.length;
      if (left === 0) return process.nextTick(cb, null, out);
      r.paths.forEach((p, i) =>
        fs.lstat(p, BIGINT, (e, st) => {
          if (!e) out[i] = st;
          if (--left === 0) cb(null, out);
        }),
      );
      return;
    }
    case 'readlink':
      return fs.readlink(r.path, BUFFER, cb);
    case 'readdir':
      return fs.readdir(r.path, BUFFER, cb);
    case 'mkdir':
      return fs.mkdir(r.path, { mode: r.mode }, (e) => cb(e));
    case 'unlink':
      return fs.unlink(r.path, cb);
    case 'rmdir':
      return fs.rmdir(r.path, cb);
    case 'rename':
      return fs.rename(r.from, r.to, cb);
    case 'ftruncate':
      return fs.ftruncate(r.fd, r.length, cb);
    case 'fsync':
      return r.dataOnly ? fs.fdatasync(r.fd, cb) : fs.fsync(r.fd, cb);
    case 'symlink':
      return fs.symlink(r.target, r.path, (e) => cb(e));
    case 'link':
      return fs.link(r.from, r.to, cb);
    case 'utimes':
      return r.follow ? fs.utimes(r.path, r.atime, r.mtime, cb) : fs.lutimes(r.path, r.atime, r.mtime, cb);
    case 'futimes':
      return fs.futimes(r.fd, r.atime, r.mtime, cb);
  }
}

type Step<T> = { ok: true; result: IteratorResult<FsRequest, T> } | { ok: false; error: unknown };

function step<T>(op: FsOp<T>, input: unknown, failed: boolean): Step<T> {
  try {
    return { ok: true, result: failed ? op.throw(input) : op.next(input) };
  } catch (error) {
    return { ok: false, error };
  }
}

export const syncDriver: FsDriver = {
  synchronous: true,
  run<T>(op: FsOp<T>, done: (error: unknown, value: T | undefined) => void): void {
    let input: unknown = undefined;
    let failed = false;
    for (;;) {
      const s = step(op, input, failed);
      if (!s.ok) return done(s.error, undefined);
      if (s.result.done) return done(null, s.result.value);
      failed = false;
      try {
        input = performSync(s.result.value);
      } catch (e) {
        input = e;
        failed = true;
      }
    }
  },
};

export const asyncDriver: FsDriver = {
  synchronous: false,
  run<T>(op: FsOp<T>, done: (error: unknown, value: T | undefined) => void): void {
    const advance = (input: unknown, failed: boolean): void => {
      const s = step(op, input, failed);
      if (!s.ok) return done(s.error, undefined);
      if (s.result.done) return done(null, s.result.value);
      try {
        performAsync(s.result.value, (error, value) => (error ? advance(error, true) : advance(value, false)));
      } catch (e) {
        // Argument validation errors are thrown synchronously by fs: deliver them asynchronously
        // too, so an operation never half-completes inside syscall().
        process.nextTick(advance, e, true);
      }
    };
    advance(undefined, false);
  },
};
