#!/usr/bin/env bash
# Registry lookup benchmark (issue "registry"), against scripts/registry-fixture.sh on loopback.
# Usage: Benchmarks/registry-bench.sh [ITERATIONS]   (starts the fixture on ports 5300-5307 and stops it after)
set -euo pipefail
cd "$(dirname "$0")"
export REGFIX_DIR="${TMPDIR:-/tmp}/nonroot-registry-bench" REGFIX_PORT_BASE="${REGFIX_PORT_BASE:-5300}" REGFIX_VERIFY=0
bash ../scripts/registry-fixture.sh start >/dev/null
trap 'bash ../scripts/registry-fixture.sh stop >/dev/null 2>&1' EXIT
set -a; . "$REGFIX_DIR/env"; set +a
swift build -c release --product RegistryBenchmark >/dev/null
host() { echo "$1" | sed -E 's#^[a-z]+://##; s#/.*$##'; }
taskset -c 1 .build/release/RegistryBenchmark "$(host "$REGFIX_PLAIN_URL")" "$(host "$REGFIX_TLS_URL")" "$(host "$REGFIX_FAULTS_URL")" \
    "$REGFIX_CA_CERT" "$REGFIX_FAULTS_STATS_URL" "${1:-200000}"
