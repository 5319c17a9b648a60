/**
 * Drives a Kernel directly, the way a syscall thread does, without workers or Wasm: each test guest
 * is a shared WebAssembly.Memory with a bump allocator, a ProcessSpec whose standard output and
 * error are captured, and `sys()` to post a call. Kernel-agnostic: the virtual and os kernel tests
 * both use it.
 *
 * A harness may hold several instances of a per-thread kernel, one per simulated syscall thread, all
 * in this JS thread: each guest attaches to every instance with the same ProcessSpec (one
 * `shared` buffer), and a call posted with `thread: t` runs on instance t.
 */
import { StdinRing } from '../../host/kernel/common/stdin-ring.js';
import { virtualTimeOf } from '../../host/kernel/capabilities.js';
import { PROCESS_SHARED_BYTES } from '../../host/kernel/os/file-table.js';
import { DEFAULT_LIMITS, PENDING, type Call, type Grant, type Kernel, type Limits, type ProcessSpec } from '../../host/kernel/kernel.js';
import { GuestMemory } from '../../host/memory/guest-memory.js';
import {
  AF_INET,
  ECANCELED,
  EPOLL_EVENT_SIZE,
  IOVEC_SIZE,
  LINUX_DIRENT64_D_INO,
  LINUX_DIRENT64_D_OFF,
  LINUX_DIRENT64_D_RECLEN,
  LINUX_DIRENT64_D_TYPE,
  LINUX_DIRENT64_SIZE,
  POLLFD_SIZE,
  SOCKADDR_IN_SIZE,
  STAT_SIZE,
  STAT_ST_ATIME_SEC,
  STAT_ST_BLKSIZE,
  STAT_ST_BLOCKS,
  STAT_ST_CTIME_SEC,
  STAT_ST_DEV,
  STAT_ST_GID,
  STAT_ST_INO,
  STAT_ST_MODE,
  STAT_ST_MTIME_SEC,
  STAT_ST_NLINK,
  STAT_ST_RDEV,
  STAT_ST_SIZE,
  STAT_ST_UID,
  TIMESPEC_SIZE,
} from '../../host/abi/v1.js';

const PAGE = 65536;
/** Allocations start here, clear of address 0 (a NULL pointer stays invalid-looking). */
const HEAP_START = 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let completionCounter = 0;

/** A call the kernel parked: its completion (exactly once), and a way to cancel it. */
export class PendingCall {
  /** How many times the kernel called complete() (must end at 1). */
  completions = 0;
  /** Increases with each completion across all calls: compare two to see which finished first. */
  completedAt = -1;
  result: number | undefined = undefined;
  readonly promise: Promise<number>;
  private resolve!: (r: number) => void;

  constructor(readonly call: HarnessCall) {
    this.promise = new Promise((r) => (this.resolve = r));
    call.pending = this;
  }

  get done(): boolean {
    return this.completions > 0;
  }

  /** Whether the kernel set onCancel (the call can be interrupted). */
  get cancellable(): boolean {
    return this.call.onCancel !== null;
  }

  /**
   * Asks the kernel to cancel, as the runtime does: runs onCancel if set. Returns true when the
   * cancellation won (the call completed with -ECANCELED because of it).
   */
  cancel(): boolean {
    if (this.done) return false;
    const hook = this.call.onCancel;
    if (hook === null) return false;
    hook();
    return this.done && this.result === -ECANCELED;
  }

  /** @internal */
  settle(result: number): void {
    this.completions++;
    if (this.completions > 1) this.call.breaches.push(`syscall ${this.call.sysno} completed twice (${this.result}, ${result})`);
    if (this.completions === 1) {
      this.completedAt = completionCounter++;
      this.result = result;
      this.resolve(result);
    }
  }
}

/** The Call objects the harness hands to the kernel. */
export class HarnessCall implements Call {
  onCancel: (() => void) | null = null;
  pending: PendingCall | null = null;
  /** Results delivered through complete() before syscall() returned (allowed, but recorded). */
  early: number[] = [];
  /** syscall() answered directly: any complete() afterwards breaks the contract. */
  answered = false;
  /** Contract breaches seen on this call. */
  readonly breaches: string[] = [];
  /** The harness that posted it (settled() lets its virtual time pass). */
  harness: KernelHarness<unknown> | null = null;

  constructor(
    readonly sysno: number,
    readonly a0: number,
    readonly a1: number,
    readonly a2: number,
    readonly a3: number,
    readonly a4: number,
    readonly a5: number,
    readonly flags: number,
    readonly thread: number,
  ) {}

  complete(result: number): void {
    if (this.answered) this.breaches.push(`syscall ${this.sysno} answered at once, then completed with ${result}`);
    else if (this.pending) this.pending.settle(result);
    else this.early.push(result);
  }
}

export interface SpawnOptions {
  pid?: number;
  name?: string;
  stdin?: Uint8Array | string | null;
  /** A streamed standard input (the VM's ring) instead of `stdin`'s bytes. */
  stdinRing?: StdinRing;
  grants?: Grant[];
  fdClasses?: number;
  limits?: Partial<Limits>;
  /** Wasm pages (64 KiB) of guest memory at start (default 2; it grows on demand up to 64). */
  pages?: number;
}

export interface CallOptions {
  /** call.thread (the descriptor class new descriptors go to); default the process's `thread`. */
  thread?: number;
  /** Entry flags (EF_NOWAIT). */
  flags?: number;
}

/** One test guest: its memory, its captured output, helpers to lay out arguments. */
export class TestProcess<P> {
  /** The process as each kernel instance knows it (index = thread). */
  procs: P[] = [];
  /** Everything written to fd 1 and fd 2, in order. */
  readonly output: { fd: 1 | 2; bytes: Uint8Array }[] = [];
  /** Default call.thread for this process's calls. */
  thread = 0;
  private top: number;

  constructor(
    readonly harness: KernelHarness<P>,
    readonly proc: P,
    readonly spec: ProcessSpec,
    readonly wasm: WebAssembly.Memory,
    readonly memory: GuestMemory,
  ) {
    this.top = harness.heapStart;
  }

  get pid(): number {
    return this.spec.pid;
  }

  /** Text written to `fd` so far. */
  text(fd: 1 | 2 = 1): string {
    return decoder.decode(concat(this.output.filter((o) => o.fd === fd).map((o) => o.bytes)));
  }

  /** Posts a call (see KernelHarness.sys). */
  sys(sysno: number, ...slots: number[]): number | PendingCall {
    return this.harness.sys(this, sysno, ...slots);
  }

  /** Posts a call with options (thread, flags). */
  sysWith(options: CallOptions, sysno: number, ...slots: number[]): number | PendingCall {
    return this.harness.sysWith(this, options, sysno, ...slots);
  }

  /** Posts a call on simulated syscall thread `thread` (its kernel instance, and its descriptor class). */
  on(thread: number, sysno: number, ...slots: number[]): number | PendingCall {
    return this.harness.sysWith(this, { thread }, sysno, ...slots);
  }

  /** Reserves `size` zeroed bytes (aligned), growing memory when needed. */
  alloc(size: number, align = 8): number {
    const ptr = (this.top + align - 1) & ~(align - 1);
    const end = ptr + Math.max(size, 0);
    const have = this.wasm.buffer.byteLength;
    if (end > have) this.wasm.grow(Math.ceil((end - have) / PAGE));
    this.memory.fill(ptr, size, 0);
    this.top = end;
    return ptr;
  }

  /** Forgets every allocation (memory contents stay). */
  reset(): void {
    this.top = this.harness.heapStart;
  }

  /** A NUL-terminated UTF-8 string; returns its address. */
  cstr(s: string): number {
    const bytes = encoder.encode(s);
    const ptr = this.alloc(bytes.length + 1, 1);
    this.memory.write(ptr, bytes);
    return ptr;
  }

  /** Bytes (or a UTF-8 string, without NUL) copied into fresh memory; returns [ptr, length]. */
  data(content: Uint8Array | string): [number, number] {
    const bytes = typeof content === 'string' ? encoder.encode(content) : content;
    const ptr = this.alloc(bytes.length, 1);
    this.memory.write(ptr, bytes);
    return [ptr, bytes.length];
  }

  bytes(ptr: number, len: number): Uint8Array {
    return this.memory.copy(ptr, len);
  }

  string(ptr: number, len: number): string {
    return decoder.decode(this.memory.bytes(ptr, len));
  }

  i32(ptr: number): number {
    return this.memory.i32At(ptr);
  }
  setI32(ptr: number, v: number): void {
    this.memory.setI32(ptr, v);
  }
  u32(ptr: number): number {
    return this.memory.u32(ptr);
  }
  i64(ptr: number): number {
    return this.memory.i64(ptr);
  }
  setI64(ptr: number, v: number): void {
    this.memory.setI64(ptr, v);
  }

  /** A 4-byte int cell (e.g. an addrlen or optlen), initialised to `v`. */
  int(v = 0): number {
    const ptr = this.alloc(4, 4);
    this.memory.setI32(ptr, v);
    return ptr;
  }

  /** A struct timespec. */
  timespec(sec: number, nsec: number): number {
    const ptr = this.alloc(TIMESPEC_SIZE);
    this.memory.setI64(ptr, sec);
    this.memory.setI64(ptr + 8, nsec);
    return ptr;
  }

  readTimespec(ptr: number): { sec: number; nsec: number } {
    return { sec: this.memory.i64(ptr), nsec: this.memory.i64(ptr + 8) };
  }

  /** A struct sockaddr_in for `addr` (dotted quad or u32 host order) and `port`. */
  sockaddr(port: number, addr: string | number = '127.0.0.1', family = AF_INET): number {
    const ptr = this.alloc(SOCKADDR_IN_SIZE);
    this.memory.setU16(ptr, family);
    this.memory.setU16be(ptr + 2, port);
    const a = typeof addr === 'number' ? addr : parseIpv4(addr);
    this.memory.write(ptr + 4, new Uint8Array([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]));
    return ptr;
  }

  readSockaddr(ptr: number): { family: number; port: number; addr: string } {
    const b = this.memory.bytes(ptr + 4, 4);
    return { family: this.memory.u16(ptr), port: this.memory.u16be(ptr + 2), addr: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
  }

  /** A struct iovec array over `buffers` ([ptr, len] pairs). */
  iovecs(buffers: readonly (readonly [number, number])[]): number {
    const ptr = this.alloc(buffers.length * IOVEC_SIZE, 4);
    buffers.forEach(([p, n], i) => {
      this.memory.setU32(ptr + i * IOVEC_SIZE, p);
      this.memory.setU32(ptr + i * IOVEC_SIZE + 4, n);
    });
    return ptr;
  }

  /** An epoll_event with `events` and 64-bit `data` (lo, hi). */
  epollEvent(events: number, dataLo = 0, dataHi = 0): number {
    const ptr = this.alloc(EPOLL_EVENT_SIZE, 4);
    this.memory.setU32(ptr, events >>> 0);
    this.memory.setU32(ptr + 4, dataLo >>> 0);
    this.memory.setU32(ptr + 8, dataHi >>> 0);
    return ptr;
  }

  readEpollEvents(ptr: number, count: number): { events: number; dataLo: number; dataHi: number }[] {
    const out = [];
    for (let i = 0; i < count; i++) {
      const at = ptr + i * EPOLL_EVENT_SIZE;
      out.push({ events: this.memory.u32(at), dataLo: this.memory.u32(at + 4), dataHi: this.memory.u32(at + 8) });
    }
    return out;
  }

  /** An array of struct pollfd. */
  pollfds(entries: readonly (readonly [fd: number, events: number])[]): number {
    const ptr = this.alloc(entries.length * POLLFD_SIZE, 4);
    entries.forEach(([fd, events], i) => {
      this.memory.setI32(ptr + i * POLLFD_SIZE, fd);
      this.memory.setU16(ptr + i * POLLFD_SIZE + 4, events);
      this.memory.setU16(ptr + i * POLLFD_SIZE + 6, 0xffff);
    });
    return ptr;
  }

  revents(ptr: number, count: number): number[] {
    const out = [];
    for (let i = 0; i < count; i++) out.push(this.memory.u16(ptr + i * POLLFD_SIZE + 6));
    return out;
  }

  /** A zeroed struct stat buffer. */
  statBuf(): number {
    return this.alloc(STAT_SIZE);
  }

  /** Decodes a struct stat. */
  readStat(ptr: number): StatFields {
    const m = this.memory;
    const ts = (at: number) => ({ sec: m.i64(ptr + at), nsec: m.i64(ptr + at + 8) });
    return {
      dev: m.i64(ptr + STAT_ST_DEV),
      ino: m.i64(ptr + STAT_ST_INO),
      nlink: m.i64(ptr + STAT_ST_NLINK),
      mode: m.u32(ptr + STAT_ST_MODE),
      uid: m.u32(ptr + STAT_ST_UID),
      gid: m.u32(ptr + STAT_ST_GID),
      rdev: m.i64(ptr + STAT_ST_RDEV),
      size: m.i64(ptr + STAT_ST_SIZE),
      blksize: m.i64(ptr + STAT_ST_BLKSIZE),
      blocks: m.i64(ptr + STAT_ST_BLOCKS),
      atime: ts(STAT_ST_ATIME_SEC),
      mtime: ts(STAT_ST_MTIME_SEC),
      ctime: ts(STAT_ST_CTIME_SEC),
    };
  }

  /** Decodes the linux_dirent64 records in [ptr, ptr + len). */
  readDirents(ptr: number, len: number): Dirent[] {
    const out: Dirent[] = [];
    const m = this.memory;
    for (let at = ptr; at < ptr + len; ) {
      const reclen = m.u16(at + LINUX_DIRENT64_D_RECLEN);
      if (reclen === 0) throw new Error('dirent with zero length');
      const nameBytes = m.bytes(at + LINUX_DIRENT64_SIZE, reclen - LINUX_DIRENT64_SIZE);
      const end = nameBytes.indexOf(0);
      out.push({
        ino: m.i64(at + LINUX_DIRENT64_D_INO),
        off: m.i64(at + LINUX_DIRENT64_D_OFF),
        reclen,
        type: m.u8At(at + LINUX_DIRENT64_D_TYPE),
        name: decoder.decode(nameBytes.subarray(0, end)),
        nameBytes: nameBytes.slice(0, end),
      });
      at += reclen;
    }
    return out;
  }
}

export interface StatFields {
  dev: number;
  ino: number;
  nlink: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: { sec: number; nsec: number };
  mtime: { sec: number; nsec: number };
  ctime: { sec: number; nsec: number };
}

export interface Dirent {
  ino: number;
  off: number;
  reclen: number;
  type: number;
  name: string;
  nameBytes: Uint8Array;
}

/** Runs calls against one kernel (or one instance per simulated thread) for any number of test guests. */
export interface HarnessOptions {
  /**
   * Where each guest's allocations start (default 1 KiB): a kernel that reads the guest's own
   * control block and syscall pages (the native kernel) keeps them below it.
   */
  readonly heapStart?: number;
}

export class KernelHarness<P> {
  private nextPid = 100;
  readonly processes: TestProcess<P>[] = [];
  private readonly calls: HarnessCall[] = [];
  /** The kernel instances, by simulated thread. */
  readonly kernels: readonly Kernel<P>[];
  readonly heapStart: number;

  constructor(kernel: Kernel<P> | readonly Kernel<P>[], options: HarnessOptions = {}) {
    this.heapStart = options.heapStart ?? HEAP_START;
    this.kernels = Array.isArray(kernel) ? [...(kernel as readonly Kernel<P>[])] : [kernel as Kernel<P>];
    if (this.kernels.length === 0) throw new RangeError('a harness needs at least one kernel');
  }

  /** The kernel (instance 0). */
  get kernel(): Kernel<P> {
    return this.kernels[0]!;
  }

  /** The instance serving calls posted to `thread` (the only one when there is one). */
  kernelFor(thread: number): Kernel<P> {
    return this.kernels.length === 1 ? this.kernels[0]! : this.kernels[thread % this.kernels.length]!;
  }

  /** The process as the instance serving `thread` knows it. */
  procFor(tp: TestProcess<P>, thread: number): P {
    return tp.procs.length === 1 ? tp.procs[0]! : tp.procs[thread % tp.procs.length]!;
  }

  /** Attaches a new guest (to every kernel instance, with one ProcessSpec). */
  spawn(options: SpawnOptions = {}): TestProcess<P> {
    const pages = options.pages ?? 2;
    const wasm = new WebAssembly.Memory({ initial: pages, maximum: 64, shared: true });
    const memory = new GuestMemory(wasm);
    const stdin = typeof options.stdin === 'string' ? encoder.encode(options.stdin) : (options.stdin ?? null);
    let tp: TestProcess<P> | null = null;
    const spec: ProcessSpec = {
      pid: options.pid ?? this.nextPid++,
      name: options.name ?? 'test',
      memory,
      grants: options.grants ?? [],
      stdin,
      ...(options.stdinRing ? { stdinRing: options.stdinRing } : {}),
      stdio: { write: (fd, bytes) => tp!.output.push({ fd, bytes }) },
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      fdClasses: options.fdClasses ?? this.kernels.length,
      shared: new SharedArrayBuffer(PROCESS_SHARED_BYTES),
    };
    const procs = this.kernels.map((k) => k.attach(spec));
    tp = new TestProcess(this, procs[0]!, spec, wasm, memory);
    tp.procs = procs;
    this.processes.push(tp);
    return tp;
  }

  /** Detaches a guest from every instance. */
  detach(tp: TestProcess<P>): void {
    this.kernels.forEach((k, i) => k.detach(tp.procs[i] ?? tp.proc));
  }

  /**
   * Posts one call on `tp`'s default thread. Returns the result when the kernel answers at once, or
   * a PendingCall when it parks the call.
   */
  sys(tp: TestProcess<P>, sysno: number, ...slots: number[]): number | PendingCall {
    return this.sysWith(tp, {}, sysno, ...slots);
  }

  sysWith(tp: TestProcess<P>, options: CallOptions, sysno: number, ...slots: number[]): number | PendingCall {
    const s = (i: number): number => (slots[i] ?? 0) | 0;
    const thread = options.thread ?? tp.thread;
    const call = new HarnessCall(sysno, s(0), s(1), s(2), s(3), s(4), s(5), options.flags ?? 0, thread);
    call.harness = this as KernelHarness<unknown>;
    this.calls.push(call);
    const r = this.kernelFor(thread).syscall(this.procFor(tp, thread), call);
    if (r !== PENDING) {
      if (call.early.length > 0) call.breaches.push(`syscall ${sysno} completed early and also returned ${r}`);
      call.answered = true;
      return r;
    }
    const pending = new PendingCall(call);
    // A kernel may complete a parked call before syscall() returns; deliver it now.
    for (const early of call.early) pending.settle(early);
    return pending;
  }

  /**
   * Breaches of the Kernel contract seen so far: a call completed twice, or completed after
   * syscall() had answered it. Tests assert this is empty.
   */
  breaches(): string[] {
    return this.calls.flatMap((c) => c.breaches);
  }

  /** Lets virtual time pass while everyone waits (the runtime's idle step). */
  idle(): boolean {
    return virtualTimeOf(this.kernel)?.idle() ?? false;
  }

  /** Detaches every guest and closes every kernel instance (tests with real resources call it last). */
  async close(): Promise<void> {
    for (const tp of this.processes.splice(0)) this.detach(tp);
    for (const k of this.kernels) await k.close?.();
  }
}

/** Resolves with `promise`, or rejects after `ms` (tests on real I/O stay bounded in time). */
export function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits (polling every few ms) until `condition()` holds, or fails after `ms`. */
export async function until(condition: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A parked call's result, waiting at most `ms` (an immediate result is returned as is). */
export async function settled(r: number | PendingCall, ms = 5000): Promise<number> {
  if (!(r instanceof PendingCall)) return r;
  // On a kernel with virtual time, time passes only when everyone waits: let it.
  while (!r.done && r.call.harness?.idle()) {
    // idle() moved the clock to the next timer, which may have completed the call
  }
  return within(r.promise, ms, `syscall ${r.call.sysno}`);
}

/** Asserts `r` was answered at once and returns it. */
export function now(r: number | PendingCall): number {
  if (r instanceof PendingCall) throw new Error('expected an immediate result, the call was parked');
  return r;
}

/** Asserts `r` was parked and returns its handle. */
export function parked(r: number | PendingCall): PendingCall {
  if (!(r instanceof PendingCall)) throw new Error(`expected the call to wait, it returned ${r}`);
  return r;
}

/** The result of a call, waiting for nothing: immediate, or already completed. */
export function resultOf(r: number | PendingCall): number | undefined {
  return r instanceof PendingCall ? r.result : r;
}

export function parseIpv4(s: string): number {
  const parts = s.split('.').map(Number);
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
