import { SYS_linkat, SYS_symlinkat, SYS_readlinkat, SYS_utimensat, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT, PATH_MAX } from '../../abi/v1.js';
import type { P2Context } from './context.js';
import { fsCode } from './errors.js';
import type { NewTimestamp } from './filesystem.js';

/**
 * The filesystem calls made of the kernels' link and time calls (`linkat`, `symlinkat`,
 * `readlinkat`, `utimensat`): the kernels keep them inside the grants (a symlink's target is stored
 * as given and never resolved outside the grant, a hard link to outside a grant cannot be made, a
 * read-only grant answers EROFS).
 */
export function linkCalls(ctx: P2Context) {
  const check = (r: number): number => {
    if (r < 0) throw fsCode(r);
    return r;
  };
  return {
    link(oldDir: number, oldPath: number, newDir: number, newPath: number, follow: boolean): void {
      check(ctx.sys.call(SYS_linkat, oldDir, oldDir, oldPath, newDir, newPath, follow ? AT_SYMLINK_FOLLOW : 0));
    },
    symlink(target: number, dir: number, path: number): void {
      check(ctx.sys.call(SYS_symlinkat, dir, target, dir, path));
    },
    readlink(dir: number, path: number): string {
      const buf = ctx.sys.alloc(PATH_MAX);
      const n = check(ctx.sys.call(SYS_readlinkat, dir, dir, path, buf, PATH_MAX));
      return new TextDecoder().decode(ctx.mem().copy(buf, n));
    },
    /** `path` null: the descriptor itself. */
    setTimes(fd: number, path: number | null, follow: boolean, atim: NewTimestamp, mtim: NewTimestamp): void {
      const times = ctx.sys.alloc(32);
      const v = ctx.mem().view;
      [atim, mtim].forEach((t, i) => {
        const at = times + i * 16;
        if (t.tag === 'timestamp') {
          if (t.val.nanoseconds >= 1_000_000_000) throw 'invalid';
          v.setBigInt64(at, t.val.seconds, true);
          v.setBigInt64(at + 8, BigInt(t.val.nanoseconds), true);
        } else {
          v.setBigInt64(at, 0n, true);
          v.setBigInt64(at + 8, BigInt(t.tag === 'now' ? UTIME_NOW : UTIME_OMIT), true);
        }
      });
      check(ctx.sys.call(SYS_utimensat, fd, fd, path ?? 0, times, path !== null && !follow ? AT_SYMLINK_NOFOLLOW : 0));
    },
  };
}
