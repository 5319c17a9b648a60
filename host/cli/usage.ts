import { DEFAULT_LIMITS } from '../kernel/kernel.js';

export const USAGE = `flexvm: run WebAssembly guests whose system calls never trap

Usage:
  flexvm run [options] GUEST.wasm [ARGS...]
                                 everything after the module is the guest's (a first -- after it
                                 is dropped: run x.wasm -- --help gives the guest --help); the older
                                 form run GUEST.wasm [options] -- ARGS still works
  flexvm demo [options] [-- ARGS] echo server and client talking through the virtual kernel
  flexvm model figure1|table1|calibrate|profiles [options]
                                 the hardware cost of mode switches, modelled (docs/model.md)
  flexvm examples                the example guests shipped with flexvm, and how to run them
  flexvm init [DIR]              scaffold a guest project (asconfig.json, main.ts, package.json)
  flexvm build GUEST.ts [-o OUT] compile a guest with the project's asconfig.json
  flexvm kv [options] [MEMCACHED OPTIONS]
                                 the kv example, a memcached-compatible cache server, with
                                 memcached's command line (-p -l -m -c -I -t -v ...; -h for them);
                                 -t sets the syscall threads
  flexvm --help | --version

A GUEST.wasm that does not exist here is looked up inside the flexvm package (its examples/).

Options for run and demo:
  --kernel native|os|virtual     the kernel that serves system calls: native (real system calls
                                 made by native syscall threads straight from guest memory; the
                                 default for run where its addon is built), os (real sockets and
                                 files through Node; run's fallback) or virtual (in memory,
                                 deterministic; the default for demo)
  --syscall-threads N            host syscall threads, 1-64 (default: 1)
  --mode MODE                    exceptionless (default), sync, or epoll
  --dir HOST[:GUEST][:ro]        make a host directory visible to the guest at GUEST (default: its
  --dir HOST::GUEST[:ro]         absolute path), read-only with :ro (repeatable; the os kernel
                                 sees nothing else, the virtual kernel copies it in). A missing
                                 HOST or an unknown suffix is a usage error. In wasmtime's spelling
                                 (::) GUEST is the name a WASI program's preopen shows and may be
                                 relative (".", "data")
  --mapdir GUEST::HOST[:ro]      wasmer's spelling of --dir HOST::GUEST
  --listen ADDR:PORT             WASI programs: a listening TCP socket opened before the program
                                 starts, passed as fd 3 (then 4...), before the preopens (repeatable)
  --listen-any                   os and native kernels: let guests listen on all addresses (default: listeners
                                 bind 127.0.0.1 only)
  --allow-connect ADDR[/PREFIX][:PORT]
                                 let guests connect() to these IPv4 addresses (repeatable; e.g.
                                 10.0.0.0/8:5432). Default: loopback only (127.0.0.0/8); given
                                 rules replace it; "none" allows nothing. Past them: -EACCES
  --strict-links                 refuse (-EACCES) opening for writing or truncating a file that has
                                 more than one link: a hard link in a grant may name a file outside it
  --env KEY=VALUE, --env KEY     set an environment variable for the guest; KEY alone passes this
                                 process's value (repeatable)
  --with "GUEST.wasm [ARGS]"     start another guest in the same VM first, e.g. a server the main
                                 guest talks to; it is stopped when the main guest exits (repeatable)
  --max-fds N                    open descriptors per guest, standard streams included; past it,
                                 calls that create one fail with -EMFILE (default: ${DEFAULT_LIMITS.maxFds})
  --max-pending N                calls a guest may have in flight, on all its syscall threads
                                 together; past it, new calls but close fail with -EAGAIN (default: ${DEFAULT_LIMITS.maxPending})
  --max-memory SIZE              linear memory per guest (e.g. 256M; 64K-4G, default: ${DEFAULT_LIMITS.maxMemory / 1024 ** 2}M):
                                 caps the module's declared maximum; memory.grow past it fails
  --max-pages N                  syscall pages (64 entries each) per guest, the first ones
                                 included: libflexsc adds pages when its entries run out, up to
                                 this; past it, no more (-ENOSPC) and calls wait for an entry
                                 (1-4096, default: ${DEFAULT_LIMITS.maxPages})
  --stats                        print the run's statistics to standard error at exit
  --stats-json FILE              write them as JSON to FILE
  --spin-us N                    idle polling of a syscall thread before it sleeps, at least (it
                                 adapts up to 2000 when sleeps keep being cut short; default: 100)
  --trace                        print every system call and its result to standard error
  --model PROFILE                count the main guest's Wasm instructions and model the run's
                                 cost on a CPU profile (nehalem, modern-x86, host): calls and
                                 instructions per request, user and kernel IPC, cycles, sync
                                 against exceptionless (standard error)
  --model-requests N             divide the run's counts by N requests (default: 1, the run)
  --model-json FILE              write the model's report as JSON

Options for model:
  --profile NAME                 a CPU profile (repeatable; figure1 draws all by default)
  --json, --csv                  JSON or CSV instead of a table
  --svg FILE                     figure1: draw the figure (vega-lite, rendered to SVG)

GUEST.wasm is a flexvm guest (it imports from "flexvm") or an unmodified WASI preview 1 program,
told apart automatically (docs/wasi.md).

Exit status:
  N    the main guest's own exit status (0-125)
  1    a guest could not be loaded (missing file, not a flexvm module), or the VM failed
  2    a usage error (nothing was started)
  127  the guest could not be linked (it imports something flexvm does not provide)
  130  stopped by Ctrl-C or SIGTERM: every guest was asked to stop and did
  134  the guest trapped or aborted
  137  forced stop: a second Ctrl-C/SIGTERM, or a guest that did not stop within 2 s of being asked

One guest on the native kernel runs on flexvm's main thread, which starts sooner (docs/startup.md);
Ctrl-C and SIGTERM do the same there. FLEXVM_GUEST_THREAD=worker gives it a worker.
`;
