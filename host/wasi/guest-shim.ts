import {
  SYS_writev, SYS_readv, SYS_close, SYS_lseek, SYS_clock_gettime, SYS_getrandom, CLOCK_REALTIME, CLOCK_MONOTONIC,
} from '../abi/v1.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { EXIT_TRAP, GuestExit, GuestFault } from '../errors.js';
import { WASI_EBADF, WASI_EFAULT, WASI_EINVAL, WASI_ENOSYS, WASI_ESUCCESS, wasiErrno } from './errno.js';

/** What the WASI functions need from the guest's runtime. */
export interface WasiHost {
  readonly args: readonly string[];
  readonly env: readonly string[];
  memory(): GuestMemory;
  /**
   * Runs a Linux system call through the guest's kernel (posted like any other call), or returns null
   * while the guest has not registered with flexvm (plain WASI programs).
   */
  syscall(nr: number, a0?: number, a1?: number, a2?: number, a3?: number): number | null;
  /** Address of 64 bytes of scratch in guest memory for call results (null before registration). */
  scratch(): number | null;
  /** Output written before registration (or by a guest that never registers). */
  writeDirect(fd: 1 | 2, data: Uint8Array): void;
  /** Counts one import call (a mode switch). */
  count(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Lays out a list of strings the WASI way: a pointer array and a NUL-terminated buffer. */
function stringsGet(mem: GuestMemory, list: readonly string[], ptrs: number, buf: number): number {
  let p = buf >>> 0;
  for (let i = 0; i < list.length; i++) {
    mem.setU32(ptrs + i * 4, p);
    const bytes = encoder.encode(list[i]! + '\0');
    mem.write(p, bytes);
    p += bytes.length;
  }
  return WASI_ESUCCESS;
}

function stringsSizes(mem: GuestMemory, list: readonly string[], countPtr: number, sizePtr: number): number {
  mem.setU32(countPtr, list.length);
  mem.setU32(sizePtr, list.reduce((n, s) => n + encoder.encode(s).length + 1, 0));
  return WASI_ESUCCESS;
}

/**
 * The WASI preview1 functions a *flexvm guest* (one that registers its own control block, such as an
 * AssemblyScript program on libflexsc) uses beside its exception-less calls: AssemblyScript's
 * wasi-shim writes console output and reads clocks and randomness through them. Descriptors are the
 * kernel's own. Unmodified WASI programs get the complete preview 1 instead (./preview1/). Once the guest
 * has registered with flexvm, calls that touch descriptors, clocks or randomness go through its kernel
 * like every other call (so a virtual kernel stays deterministic and output stays in order); before
 * that, standard output and error go straight to the VM. Every other preview1 function answers
 * ENOSYS so modules that merely import it still link.
 */
export function preview1Imports(host: WasiHost, imported: readonly string[]): Record<string, Function> {
  // AssemblyScript's WASI shim turns `abort` (failed assertions, index errors, explicit aborts) into
  // an `abort: MESSAGE in FILE(LINE:COL)` line written to fd 2 from an iovec at address 0, then
  // proc_exit(255). That pair is an abort, not an exit: it ends with the trap status and the message.
  let abortLine: string | null = null;
  const noteAbort = (fd: number, iovs: number, count: number): void => {
    abortLine = null;
    if (fd !== 2 || iovs !== 0 || count !== 1) return;
    try {
      const mem = host.memory();
      const text = decoder.decode(mem.bytes(mem.u32(0), Math.min(mem.u32(4), 4096)));
      if (text.startsWith('abort: ')) abortLine = text.trimEnd();
    } catch {
      // not readable: not the shim's abort
    }
  };
  const guard =
    (fn: (...a: any[]) => number) =>
    (...a: any[]): number => {
      host.count();
      try {
        return fn(...a);
      } catch (err) {
        if (err instanceof GuestFault) return WASI_EFAULT;
        throw err;
      }
    };
  const viaKernel = (nr: number, a0: number, a1: number, a2: number, a3: number, out: number, size: 4 | 8): number | null => {
    const r = host.syscall(nr, a0, a1, a2, a3);
    if (r === null) return null;
    if (r < 0) return wasiErrno(r);
    if (size === 4) host.memory().setU32(out, r);
    else host.memory().setI64(out, r);
    return WASI_ESUCCESS;
  };
  const fns: Record<string, (...a: any[]) => number> = {
    args_sizes_get: (c: number, s: number) => stringsSizes(host.memory(), host.args, c, s),
    args_get: (p: number, b: number) => stringsGet(host.memory(), host.args, p, b),
    environ_sizes_get: (c: number, s: number) => stringsSizes(host.memory(), host.env, c, s),
    environ_get: (p: number, b: number) => stringsGet(host.memory(), host.env, p, b),
    proc_exit: (code: number) => {
      if (code === 255 && abortLine !== null) throw new GuestExit(EXIT_TRAP, abortLine);
      throw new GuestExit(code >>> 0);
    },
    fd_write: (fd: number, iovs: number, count: number, nwritten: number) => {
      noteAbort(fd, iovs, count);
      const r = viaKernel(SYS_writev, fd, iovs, count, 0, nwritten, 4);
      if (r !== null) return r;
      if (fd !== 1 && fd !== 2) return WASI_EBADF;
      const mem = host.memory();
      let total = 0;
      for (let i = 0; i < count; i++) {
        const base = mem.u32(iovs + i * 8);
        const len = mem.u32(iovs + i * 8 + 4);
        host.writeDirect(fd, mem.copy(base, len));
        total += len;
      }
      mem.setU32(nwritten, total);
      return WASI_ESUCCESS;
    },
    fd_read: (fd: number, iovs: number, count: number, nread: number) => {
      const r = viaKernel(SYS_readv, fd, iovs, count, 0, nread, 4);
      if (r !== null) return r;
      if (fd !== 0) return WASI_EBADF;
      host.memory().setU32(nread, 0); // no kernel yet: standard input is empty
      return WASI_ESUCCESS;
    },
    fd_close: (fd: number) => {
      const r = host.syscall(SYS_close, fd);
      if (r === null) return WASI_EBADF;
      return r < 0 ? wasiErrno(r) : WASI_ESUCCESS;
    },
    fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
      const off = Number(BigInt.asIntN(64, offset));
      const r = viaKernel(SYS_lseek, fd, off | 0, Math.floor(off / 0x1_0000_0000), whence, out, 8);
      return r ?? WASI_EBADF;
    },
    fd_fdstat_get: (fd: number, buf: number) => {
      if (fd < 0 || fd > 2) return WASI_EBADF;
      const mem = host.memory();
      mem.fill(buf, 24);
      mem.setU8(buf, 2); // character device
      mem.setI64(buf + 8, 0x1fffffff);
      mem.setI64(buf + 16, 0x1fffffff);
      return WASI_ESUCCESS;
    },
    fd_prestat_get: () => WASI_EBADF,
    clock_res_get: (_id: number, out: number) => {
      host.memory().setI64(out, 1000);
      return WASI_ESUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      if (id !== 0 && id !== 1) return WASI_EINVAL;
      const mem = host.memory();
      const scratch = host.scratch();
      const r = scratch === null ? null : host.syscall(SYS_clock_gettime, id === 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC, scratch);
      let ns: bigint;
      if (r === null || r < 0 || scratch === null) {
        ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
      } else {
        ns = mem.view.getBigInt64(scratch, true) * 1_000_000_000n + mem.view.getBigInt64(scratch + 8, true);
      }
      mem.check(out, 8);
      mem.view.setBigUint64(out >>> 0, ns, true);
      return WASI_ESUCCESS;
    },
    random_get: (buf: number, len: number) => {
      const r = host.syscall(SYS_getrandom, buf, len, 0);
      if (r === null) {
        const mem = host.memory();
        const bytes = new Uint8Array(len >>> 0);
        // The global Web Crypto, loaded on first use: importing node:crypto would cost every guest worker's start.
        for (let i = 0; i < bytes.length; i += 65536) globalThis.crypto.getRandomValues(bytes.subarray(i, i + 65536));
        mem.write(buf, bytes);
        return WASI_ESUCCESS;
      }
      return r < 0 ? wasiErrno(r) : WASI_ESUCCESS;
    },
    sched_yield: () => WASI_ESUCCESS,
  };
  const out: Record<string, Function> = {};
  for (const name of imported) out[name] = guard(fns[name] ?? (() => WASI_ENOSYS));
  return out;
}
