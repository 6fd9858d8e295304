#!/usr/bin/env bash
# faults.sh - injects faults into a running `nonroot-admission serve` while clients send reviews, and
# counts what fails. Everything runs on 127.0.0.1.
#
# Usage: scripts/faults.sh [--short] [--only TEST[,TEST...]] [--no-build]
#   --short      the CI version (about 3 minutes): shorter phases, rotation for 10 s instead of 30
#   --only       run some of: rotation,sigterm,registry,slowloris,badinput,flood (default: all, in this order)
#   --no-build   do not run `swift build` first (use the existing binary, or NONROOT_BIN)
#
# Tests (scripts/reliability/faults/: harness.py, and one module per test; each starts its own server):
#   rotation   the serving certificate and key replaced every second for 30 s (10 s short) by an atomic
#              ..data symlink swap, as the kubelet updates a Secret volume, with --cert-refresh-interval 1s,
#              under keep-alive clients and clients opening a new TLS connection per request. Targets: 0
#              failed requests; tls_reloads_total{source="certificate",result="success"} >= 80% of the
#              rotations; the clients' handshakes saw the new serials; the last certificate is served.
#   sigterm    SIGTERM under load (fast catalog reviews, and reviews whose registry lookup takes ~3 s):
#              exit 0; /readyz 503 at once; serving (new connections too) for --shutdown-delay; then new
#              connections refused; every request the server decided (its JSON log names each uid) was
#              answered, including those in flight when it stopped accepting; the log lines "shutdown: not
#              ready" < "no longer accepting" < "all requests answered" < "stopped", in that order.
#   registry   reviews that need the registry, on /validate?timeout=2s, 8 clients: the plain registry
#              SIGKILLed, restarted, then the fault proxy's hang, 429 and 500, then a healthy path on the
#              proxy's host; --unresolved warn, then a second server with --unresolved deny (hang and
#              recovery). Targets: every answer 200 in < 2 s, unresolved answers allowed with a warning
#              (warn) or denied (deny), found again within 5 s of recovery; catalog reviews unaffected.
#   slowloris  hundreds of idle TLS connections, raw TCP connections without a handshake, connections
#              trickling headers a byte a second, then more than --max-connections, while a normal client
#              sends 200 req/s. Targets: normal client 0 failures and p99 <= max(10 ms, 3x its p99 before);
#              idle closed at --idle-timeout, raw at the 10 s handshake timeout, tricklers at
#              --request-timeout; the open-connections gauge never above --max-connections; each extra
#              connection served in place of the longest-idle one (none refused); new connections served afterwards.
#   badinput   with the body limits deploy/base/deployment.yaml sets (or the defaults): 100 MiB bodies
#              (Content-Length and chunked): 413; 100,000-level nesting (arrays, and objects inside a
#              review): 400 naming the depth; a 50 MiB JSON string: 413; 1 MiB of headers: 400; then
#              budget/7 MiB + 6 bodies of 7 MiB held at once: some 503 (--max-buffered-bytes), and the
#              peak RSS (VmHWM) under the Deployment's memory limit (limits.memory, 128Mi; override with
#              REL_MEMORY_LIMIT_MIB), since past it the kubelet OOM-kills the pod; the server serves after
#              each; and, for the record, the peak RSS cost of a 50 MiB body under --max-body-bytes 64Mi.
#              scripts/reliability/oom-repro.sh shows the OOM kill itself in a memory cgroup.
#   flood      with the Deployment's limits, 32 connections post maximum-size bodies of each JSON shape back
#              to back (dense array, deep nesting, one long string, many keys, a 2 x 25k-container UPDATE, the
#              densest valid UPDATE), 15 s each (4 s short), while a client sends an ordinary review at 50/s.
#              Targets per shape: the ordinary client 0 failures and no gap of 1 s; the flood answered as
#              expected (400 or 200) or refused with 503, nothing else; peak RSS under limits.memory.
# Output: Markdown tables (one row per test, then its checks) and, as the last line, one JSON object.
# Exit status: 0 every check passed, 1 a check failed, 2 the test could not run.
# Ports: REL_PORT_BASE (default 5400)..+7 registry fixture, +20 server TLS, +21 metrics.
set -euo pipefail
REL_NAME=faults
# shellcheck source=reliability/common.sh
. "$(cd "$(dirname "$0")" && pwd)/reliability/common.sh"

short=0 only="rotation,sigterm,registry,slowloris,badinput,flood" build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=1; shift ;;
        --only) only=${2:?}; shift 2 ;;
        --only=*) only=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

wall0=$(rel_now)
rel_need_tools curl openssl python3 docker-registry
rel_prepare faults "$build"

args=(--bin "$BIN" --work "$WORK" --certs "$WORK/certs" --bodies "$WORK/bodies" --regfix-dir "$REGFIX_DIR"
      --plain "$REG_PLAIN" --faults "$REG_FAULTS" --tls "$REG_TLS" --regfix-ca "$REGFIX_CA_CERT"
      --port "$REL_LISTEN_PORT" --metrics-port "$REL_METRICS_PORT" --only "$only"
      --deployment "$REPO/deploy/base/deployment.yaml")
[ "$short" = 1 ] && args+=(--short)
status=0
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$REL_HELPERS${PYTHONPATH:+:$PYTHONPATH}" python3 -m faults "${args[@]}" | tee "$WORK/report.md" || status=$?
rel_log "wall time $(rel_since "$wall0")s${REL_BUILD_SECONDS:+ (build ${REL_BUILD_SECONDS}s)}; files in $WORK"
exit "$status"
