#!/usr/bin/env bash
# The worst reviews the apiserver can send (3 MiB objects; UPDATEs carrying two), decided in process from
# bytes to response bytes on one core. Release build. Target: under 50 ms each (issue 11).
# Usage: Benchmarks/worst-case.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 worst-case/make-bodies.py "$dir"
rm -f "$dir/deep-nesting.json"   # refused at once; the fault runs cover it
swift build -c release --product WorstCaseBenchmark >/dev/null
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, pinned to core 1"
exec taskset -c 1 .build/release/WorstCaseBenchmark "$dir" "${1:-20}"
