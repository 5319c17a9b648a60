import { DEFAULT_LIMITS } from '../kernel/kernel.js';

export const USAGE = `flexvm: run WebAssembly guests whose system calls never trap

Usage:
  flexvm run GUEST.wasm [options] [-- ARGS...]
  flexvm demo [options]          echo server and client talking through the virtual kernel
  flexvm kv [options] [MEMCACHED OPTIONS]
                                 the kv example, a memcached-compatible cache server, with
                                 memcached's command line (-p -l -m -c -I -t -v ...; -h for them);
                                 -t sets the syscall threads
  flexvm --help | --version

Options for run and demo:
  --kernel os|virtual            the kernel that serves system calls: os (real sockets and files;
                                 the default for run) or virtual (in memory, deterministic; the
                                 default for demo)
  --syscall-threads N            host syscall threads, 1-64 (default: 1)
  --mode MODE                    exceptionless (default), sync, or epoll
  --dir HOST[:GUEST][:ro]        make a host directory visible to the guest, read-only with :ro
                                 (repeatable; the os kernel sees nothing else, the virtual kernel
                                 copies it in)
  --listen-any                   os kernel: let guests listen on all addresses (default: listeners
                                 bind 127.0.0.1 only)
  --allow-connect ADDR[/PREFIX][:PORT]
                                 let guests connect() to these IPv4 addresses (repeatable; e.g.
                                 10.0.0.0/8:5432). Default: loopback only (127.0.0.0/8); given
                                 rules replace it; "none" allows nothing. Past them: -EACCES
  --env KEY=VALUE                set an environment variable for the guest (repeatable)
  --with "GUEST.wasm [ARGS]"     start another guest in the same VM first, e.g. a server the main
                                 guest talks to; it is stopped when the main guest exits (repeatable)
  --max-fds N                    open descriptors per guest, standard streams included; past it,
                                 calls that create one fail with -EMFILE (default: ${DEFAULT_LIMITS.maxFds})
  --max-pending N                calls a guest may have in flight, on all its syscall threads
                                 together; past it, new calls but close fail with -EAGAIN (default: ${DEFAULT_LIMITS.maxPending})
  --max-memory SIZE              linear memory per guest (e.g. 256M; 64K-4G, default: ${DEFAULT_LIMITS.maxMemory / 1024 ** 2}M):
                                 caps the module's declared maximum; memory.grow past it fails
  --stats                        print the run's statistics to standard error at exit
  --stats-json FILE              write them as JSON to FILE
  --spin-us N                    idle polling of a syscall thread before it sleeps, at least (it
                                 adapts up to 2000 when sleeps keep being cut short; default: 100)
  --trace                        print every system call and its result to standard error

Exit status: the main guest's own status (130 if interrupted, 134 if it trapped, 137 if it did not
stop within the 2 s grace period after Ctrl-C and was terminated), 1 if a guest could not be
loaded or the VM failed, 2 for a usage error.
`;
