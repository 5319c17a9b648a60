#!/usr/bin/env bash
# The multi-core run of the paper's claim, prepared for a 16-core machine: one guest thread served by
# 1, 2, 4 and 8 syscall threads, every kernel and mode side by side with the peers (Node net echo,
# node:http static server, nginx with one worker). Needs ab and nginx (Debian: apache2-utils nginx),
# g++/make/python3 for the native addon. Results go to bench/results/multicore/ (or --out DIR).
#   bench/multicore.sh [--rounds N] [--quick] [--threads 1,2,4,8] [--conns 16,64,256] [--out DIR] [--skip-install]
# --quick, small --threads/--conns and --skip-install make a smoke run on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5
quick=()
threads=1,2,4,8
conns=
out=bench/results/multicore
install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --threads) threads="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-install) install=0; shift ;;
    *) echo "multicore.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "$(nproc) cores; open files $(ulimit -Sn); syscall threads $threads; rounds $rounds"
[ "$(nproc)" -ge 16 ] || echo "note: $(nproc) cores: the 8-thread points need 16 to mean what the paper measured" >&2
if [ "$install" = 1 ]; then
  npm ci --no-audit --no-fund
  npm run build --silent
fi
test -f native/build/Release/flexvm_native.node || { echo "the native addon did not build" >&2; exit 1; }
command -v ab >/dev/null || { echo "ab is missing (Debian: apache2-utils)" >&2; exit 1; }
export FLEXVM_BENCH_THREADS="$threads"
export FLEXVM_BENCH_RESULTS="$out"
[ -z "$conns" ] || export FLEXVM_BENCH_CONNS="$conns"
mkdir -p "$FLEXVM_BENCH_RESULTS"
node build/bench/run.js null-syscall echo-tcp httpd --rounds "$rounds" "${quick[@]}"
