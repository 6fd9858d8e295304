#!/usr/bin/env bash
# In-process decode + evaluate benchmark (issue "Core"). Release build, pinned to one core.
# Usage: Benchmarks/run.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product DecideBenchmark >/dev/null
conformance=${NONROOT_CONFORMANCE_DIR:-../../shared/conformance}
recorded=()
if [ -d "$conformance/recorded-reviews" ]; then
    mapfile -t recorded < <(find "$conformance/recorded-reviews" -name '*.json' | sort)
fi
exec taskset -c 1 .build/release/DecideBenchmark Fixtures/realistic-pod-review.json Fixtures/images.yaml "${1:-200000}" "${recorded[@]}"
