import { SYS_accept4, SYS_readv, SYS_writev, SYS_recvfrom, SYS_shutdown, O_NONBLOCK, MSG_PEEK, MSG_WAITALL, SHUT_RD, SHUT_WR, SHUT_RDWR } from '../../abi/v1.js';
import { E, R, FILETYPE, FDFLAGS, RIFLAGS, SDFLAGS, RIGHTS_SOCKET } from '../wasi-abi.js';
import { type WasiContext, type WasiFn, errno, isErr, need, OK } from './context.js';

/**
 * The socket functions, on sockets the host granted (`--listen`) and the connections accepted from
 * them: WASI preview 1 can neither create nor bind nor connect a socket itself.
 */
export function sockCalls(ctx: WasiContext): Record<string, WasiFn> {
  const mem = () => ctx.mem();
  const socket = (fd: number, rights: number) => {
    const f = need(ctx, fd, rights);
    if (isErr(f)) return f;
    return f.filetype === FILETYPE.SOCKET_STREAM || f.filetype === FILETYPE.SOCKET_DGRAM ? f : E.NOTSOCK;
  };
  return {
    sock_accept(fd: number, flags: number, out: number) {
      const f = socket(fd, R.SOCK_ACCEPT);
      if (isErr(f)) return f;
      if (flags & ~FDFLAGS.NONBLOCK) return E.INVAL;
      mem().check(out, 4);
      const kfd = ctx.sys.call(SYS_accept4, f.kfd, f.kfd, 0, 0, flags & FDFLAGS.NONBLOCK ? O_NONBLOCK : 0);
      if (kfd < 0) return errno(kfd);
      mem().setU32(out, ctx.fds.add({ kfd, filetype: FILETYPE.SOCKET_STREAM, rightsBase: RIGHTS_SOCKET & ~R.SOCK_ACCEPT, rightsInheriting: 0 }));
      return OK;
    },
    sock_recv(fd: number, iovs: number, count: number, riflags: number, outLen: number, outFlags: number) {
      const f = socket(fd, R.FD_READ);
      if (isErr(f)) return f;
      if (riflags & ~(RIFLAGS.PEEK | RIFLAGS.WAITALL)) return E.INVAL;
      const m = mem();
      m.check(outLen, 4);
      m.check(outFlags, 2);
      let r: number;
      if (riflags === 0) r = ctx.sys.call(SYS_readv, f.kfd, f.kfd, iovs, count);
      else {
        // recvfrom takes one buffer: the first non-empty one receives (peek and wait-all apply to it).
        m.check(iovs, count * 8);
        let ptr = 0;
        let len = 0;
        for (let i = 0; i < count && len === 0; i++) {
          ptr = m.u32(iovs + i * 8);
          len = m.u32(iovs + i * 8 + 4);
        }
        const flags = (riflags & RIFLAGS.PEEK ? MSG_PEEK : 0) | (riflags & RIFLAGS.WAITALL ? MSG_WAITALL : 0);
        r = ctx.sys.call(SYS_recvfrom, f.kfd, f.kfd, ptr, len, flags, 0, 0);
      }
      if (r < 0) return errno(r);
      m.setU32(outLen, r);
      m.view.setUint16(outFlags >>> 0, 0, true);
      return OK;
    },
    sock_send(fd: number, iovs: number, count: number, siflags: number, outLen: number) {
      const f = socket(fd, R.FD_WRITE);
      if (isErr(f)) return f;
      if (siflags !== 0) return E.INVAL; // no send flags are defined
      mem().check(outLen, 4);
      const r = ctx.sys.call(SYS_writev, f.kfd, f.kfd, iovs, count);
      if (r < 0) return errno(r);
      mem().setU32(outLen, r);
      return OK;
    },
    sock_shutdown(fd: number, how: number) {
      const f = socket(fd, R.SOCK_SHUTDOWN);
      if (isErr(f)) return f;
      const linux = how === SDFLAGS.RD ? SHUT_RD : how === SDFLAGS.WR ? SHUT_WR : how === (SDFLAGS.RD | SDFLAGS.WR) ? SHUT_RDWR : -1;
      if (linux < 0) return E.INVAL;
      const r = ctx.sys.call(SYS_shutdown, f.kfd, f.kfd, linux);
      return r < 0 ? errno(r) : OK;
    },
  };
}
