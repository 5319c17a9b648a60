#!/usr/bin/env bash
# The multi-core run of the paper's claim, prepared for a 16-core machine: one guest thread served by
# 1, 2, 4 and 8 syscall threads, every kernel and mode side by side with the peers (Node net echo,
# node:http static server, nginx with one worker). Needs ab and nginx (Debian: apache2-utils nginx),
# g++/make/python3 for the native addon. Results go to bench/results/multicore/.
#   bench/multicore.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${2:-5}"
[ "${1:-}" = "--rounds" ] || rounds=5
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "$(nproc) cores; open files $(ulimit -Sn)"
npm ci --no-audit --no-fund
npm run build --silent
test -f native/build/Release/flexvm_native.node || { echo "the native addon did not build" >&2; exit 1; }
export FLEXVM_BENCH_THREADS=1,2,4,8
export FLEXVM_BENCH_RESULTS=bench/results/multicore
mkdir -p "$FLEXVM_BENCH_RESULTS"
node build/bench/run.js null-syscall echo-tcp httpd --rounds "$rounds"
