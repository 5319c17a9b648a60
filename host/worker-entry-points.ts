// The worker entry points. This file sits at the top of the host's tree, so the same relative URLs
// hold after tsc (build/host/) and after rollup (dist/, whose entry names keep these folders).
export const SYSCALL_WORKER_URL = new URL('./syscall/syscall-worker.js', import.meta.url);
export const GUEST_WORKER_URL = new URL('./guest/guest-worker.js', import.meta.url);
