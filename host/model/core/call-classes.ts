// Which published per-call measurement stands for each flexvm system call. FlexSC's Table 1 measured six
// calls (or pairs) on the papers' Core i7; a flexvm call is charged as the row that does the same kind
// of kernel work, and a pair row ("open+close") is split evenly between its two calls. Calls with no
// close counterpart (accept, epoll_wait, socket set-up...) are charged the mean of the table per call:
// an estimate, and `flexvm run --model` says which calls it had to estimate.

export interface CallClass {
  /** The row of the per-call table, or null for the table's mean per call. */
  readonly row: string | null;
  /** The share of the row's cost one call carries (0.5 for each half of a pair). */
  readonly share: number;
}

const ROWS: Record<string, CallClass> = {
  read: { row: 'pread', share: 1 },
  readv: { row: 'pread', share: 1 },
  pread64: { row: 'pread', share: 1 },
  recvfrom: { row: 'pread', share: 1 },
  recvmsg: { row: 'pread', share: 1 },
  write: { row: 'pwrite', share: 1 },
  writev: { row: 'pwrite', share: 1 },
  pwrite64: { row: 'pwrite', share: 1 },
  sendto: { row: 'pwrite', share: 1 },
  sendmsg: { row: 'pwrite', share: 1 },
  sendfile: { row: 'pwrite', share: 1 },
  fstat: { row: 'stat', share: 1 },
  stat: { row: 'stat', share: 1 },
  newfstatat: { row: 'stat', share: 1 },
  statx: { row: 'stat', share: 1 },
  open: { row: 'open+close', share: 0.5 },
  openat: { row: 'open+close', share: 0.5 },
  close: { row: 'open+close', share: 0.5 },
  mmap: { row: 'mmap+munmap', share: 0.5 },
  munmap: { row: 'mmap+munmap', share: 0.5 },
};

/** The class of call `name` (a Linux name as flexvm's ABI spells it, or a WASI import's). */
export function classOf(name: string): CallClass {
  const bare = name.startsWith('wasi:') ? wasiEquivalent(name.slice(5)) : name;
  return ROWS[bare] ?? { row: null, share: 1 };
}

/** WASI preview1 imports the shim turns into Linux calls. */
function wasiEquivalent(name: string): string {
  if (name === 'fd_write') return 'writev';
  if (name === 'fd_read') return 'readv';
  if (name === 'fd_close') return 'close';
  if (name === 'path_open') return 'openat';
  if (name === 'fd_filestat_get' || name === 'path_filestat_get') return 'fstat';
  return name;
}
