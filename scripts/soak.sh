#!/usr/bin/env bash
# soak.sh - holds `nonroot-admission serve` at a fixed rate near half of its saturation for a long time,
# over TLS with HTTP/1.1 keep-alive and a realistic mix of reviews, and checks that nothing degrades.
#
# Usage: scripts/soak.sh [--duration SECONDS] [--rate REQ_PER_S] [--short] [--no-build] [--keep-logs]
#   --duration S   load duration (default 600)
#   --short        the CI version: 60 s (and a 3 s saturation burst); about 90 s in all
#   --rate R       total request rate; default: 45% of the saturation measured first with a short
#                  h2load burst (HTTP/1.1, 32 connections, the 6.6 KB Pod review)
#   --no-build     do not run `swift build` first (use the existing binary, or NONROOT_BIN)
#   --keep-logs    keep the server's JSON log (one line per review: about 2 GB for the 600 s run)
#
# What runs, all on 127.0.0.1 (ports REL_PORT_BASE=5400..5407 registry fixture, 5420 TLS, 5421 metrics):
#   - scripts/registry-fixture.sh (docker-registry plain, TLS, and the counting fault proxy);
#   - the server: --registry --registry-allow-private --registry-allow-insecure <plain>,<faults>
#     --registry-ca-file <fixture CA> --registry-allowlist <the three> --registry-tag-ttl 2s
#     --registry-failure-ttl 1s --unresolved warn --shutdown-delay 1s, info-level JSON log to a file;
#   - seven concurrent `h2load --h1 --rps=... -c N -D S --log-file` streams (60 connections in all, so
#     that each connection has several ms per request: HTTP/1.1 has one request in flight per connection):
#       allowed     40%  20 conns  Benchmarks/Fixtures/realistic-pod-review.json (6.6 KB Pod) -> allowed
#       denied      14%   8 conns  Examples/reviews/02 -> denied (image runs as root)
#       dryrun      10%   6 conns  Examples/reviews/03 on /validate/dry-run -> allowed with would-deny
#       workload    10%   6 conns  Examples/reviews/05 (Deployment) -> denied
#       unresolved  10%   6 conns  an image outside the catalog and the allowlist -> allowed with a warning
#       registry    10%   8 conns  three images found in the registries (plain, TLS, via the counting
#                                  proxy), on /validate?timeout=10s; the tag is re-checked with a HEAD
#                                  every 2 s, so registry traffic goes on during the whole soak
#       missingtag   6%   6 conns  a tag that does not exist (404), re-tried after each 1 s failure TTL
#   - scripts/reliability/procmon.py: RSS, VmHWM, threads, open fds, CPU of the server every 2 s.
# Every stream's answer is checked once before and once after the load, and every 0.5 s during it
# (scripts/reliability/probe.py): status, allowed, warnings, and each denial's status.message (and the
# dry-run's would-deny) byte for byte.
#
# Targets (exit 1 when one is missed):
#   - 0 errors (non-200 answers or h2load failures), in all and per stream; every h2load stream exits 0,
#     prints its summary and holds >= 90% of its own rate, and the total rate holds >= 90% (below that
#     the machine, shared by server, load generator and registry, was too busy for the run to be a soak
#     at the intended load);
#   - decisions under load: every probe answer during the load right, every denial exact; and the
#     server's decision counters equal the streams' answers (denied streams -> denied, dry-run ->
#     would_deny, the rest -> allowed), up to one unlogged in-flight request per connection;
#   - the RSS slope after the warm-up (10% of the duration; least squares over 2 s samples) <= 2 MiB/h
#     for runs of 5 min or more. Why 2 MiB/h: the deployment's limit is 192Mi and the server runs at about
#     40 MiB, so a leak at that rate takes over 3 days to reach the limit, and 2 MiB/h (34 KiB/min) is
#     about the smallest slope a 10-minute run resolves above allocator noise (the 600 s run measured
#     20 KiB/min); slower leaks need a longer soak (--duration). A 60 s run (--short) cannot resolve that:
#     its post-warm-up window is under a minute and dominated by the allocator settling, so it is judged
#     against 64 MiB/h, which still catches a leak that would reach the limit within about 2 hours;
#   - RSS growth from the end of the warm-up to the end < 10%; open fds and threads after the warm-up
#     grow by at most 16 and 4; every answer counted in the server's metrics; the probes before and after
#     right; no error-level log line; exit status 0 on SIGTERM at the end.
# Output: Markdown tables (latency per 10 s window, per stream, resources, metrics, targets) and, as the
# last line, one JSON object with every figure. Exit status: 0 all targets met, 1 a target missed,
# 2 the test could not run.
set -euo pipefail
REL_NAME=soak
# shellcheck source=reliability/common.sh
. "$(cd "$(dirname "$0")" && pwd)/reliability/common.sh"

duration=600 rate="" build=1 keep_logs=0 saturation_seconds=5 window=10 fraction=0.45 slope_max=""
probe_interval=0.5
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=${2:?}; shift 2 ;;
        --duration=*) duration=${1#*=}; shift ;;
        --rate) rate=${2:?}; shift 2 ;;
        --rate=*) rate=${1#*=}; shift ;;
        --short) duration=60; saturation_seconds=3; shift ;;
        --no-build) build=0; shift ;;
        --keep-logs) keep_logs=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 10 ] || rel_die "--duration must be a whole number of seconds >= 10"
[ -z "$rate" ] || [[ $rate =~ ^[0-9]+$ ]] || rel_die "--rate must be a whole number"
# The RSS slope limit in MiB/h (see the targets above): 2 from 5 minutes on, 64 for shorter runs.
if [ -z "$slope_max" ]; then
    if [ "$duration" -ge 300 ]; then slope_max=2; else slope_max=64; fi
fi

wall0=$(rel_now)
rel_need_tools h2load curl openssl python3
rel_prepare soak "$build"

"$BIN" serve --tls-cert-file "$WORK/certs/tls.crt" --tls-key-file "$WORK/certs/tls.key" \
    --listen "127.0.0.1:$REL_LISTEN_PORT" --metrics-listen "127.0.0.1:$REL_METRICS_PORT" \
    --images "$WORK/bodies/catalog.yaml" --unresolved warn --shutdown-delay 1s \
    --registry --registry-allow-private --registry-allow-insecure "$REG_PLAIN,$REG_FAULTS" \
    --registry-ca-file "$REGFIX_CA_CERT" --registry-allowlist "$REG_PLAIN,$REG_FAULTS,$REG_TLS" \
    --registry-tag-ttl 2s --registry-failure-ttl 1s 2>"$WORK/server.log" &
SERVER_PID=$!
rel_wait_ready "$SERVER_PID" || { tail -n 20 "$WORK/server.log" >&2; rel_die "server not ready"; }
rel_log "server $SERVER_PID ready on 127.0.0.1:$REL_LISTEN_PORT (metrics :$REL_METRICS_PORT)"
python3 "$REL_HELPERS/procmon.py" "$SERVER_PID" 2 "$WORK/samples.jsonl" "http://127.0.0.1:$REL_METRICS_PORT/metrics" &
REL_PIDS+=($!)

URL="https://127.0.0.1:$REL_LISTEN_PORT"
python3 "$REL_HELPERS/probe.py" "$REL_LISTEN_PORT" "$WORK/certs/ca.crt" "$WORK/bodies" before >"$WORK/probes-before.json"

# Saturation: a short closed-loop burst, as BENCHMARKS.md section 2 measures it.
rate_source="--rate"
saturation=""
if [ -z "$rate" ]; then
    h2load --h1 -c 32 -m 1 -D "$saturation_seconds" -d "$WORK/bodies/allowed.json" -H 'content-type: application/json' \
        "$URL/validate" >"$WORK/saturation.out" 2>&1 || true
    saturation=$(awk '/^finished in/ { gsub(",", "", $4); print int($4) }' "$WORK/saturation.out")
    [ -n "$saturation" ] && [ "$saturation" -gt 0 ] || { cat "$WORK/saturation.out" >&2; rel_die "saturation burst failed"; }
    rate=$(awk -v s="$saturation" -v f="$fraction" 'BEGIN { print int(s * f) }')
    rate_source="45% of ${saturation} req/s measured (h1, 32 conns, ${saturation_seconds}s)"
    rel_log "saturation $saturation req/s -> soak rate $rate req/s"
fi

# name share conns
STREAMS="allowed 0.40 20
denied 0.14 8
dryrun 0.10 6
workload 0.10 6
unresolved 0.10 6
registry 0.10 8
missingtag 0.06 6"

sleep 1
rel_scrape "$WORK/metrics-before.txt"
curl -s -o /dev/null --max-time 5 "$REGFIX_FAULTS_URL/_fault/reset"
mkdir -p "$WORK/h2load"
load_pids=()
: >"$WORK/streams.txt"
load_start=$(rel_now)
while read -r name share conns; do
    path=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["path"])' "$WORK/bodies/expect.json" "$name")
    per_conn=$(awk -v r="$rate" -v s="$share" -v c="$conns" 'BEGIN { printf "%.2f", r * s / c }')
    h2load --h1 -c "$conns" -m 1 --rps="$per_conn" -D "$duration" -d "$WORK/bodies/$name.json" \
        -H 'content-type: application/json' --log-file="$WORK/h2load/$name.log" "$URL$path" >"$WORK/h2load/$name.out" 2>&1 &
    load_pids+=($!)
    REL_PIDS+=($!)
    echo "$name $path $conns $per_conn $!" >>"$WORK/streams.txt"
done <<<"$STREAMS"
rel_log "load: ${#load_pids[@]} h2load streams, $rate req/s for ${duration}s"
# Decisions under load: every stream's body every $probe_interval s until the load ends.
python3 "$REL_HELPERS/probe.py" "$REL_LISTEN_PORT" "$WORK/certs/ca.crt" "$WORK/bodies" during \
    "$(awk -v a="$load_start" -v d="$duration" 'BEGIN { printf "%.3f", a + d }')" "$probe_interval" >"$WORK/probes-during.json" &
probe_pid=$!
REL_PIDS+=("$probe_pid")
: >"$WORK/stream-exits.txt"
for pid in "${load_pids[@]}"; do
    if wait "$pid"; then echo "$pid 0" >>"$WORK/stream-exits.txt"; else echo "$pid $?" >>"$WORK/stream-exits.txt"; fi
done
wait "$probe_pid" || rel_log "the probe during the load exited with status $?"
load_end=$(rel_now)
rel_log "load finished after $(awk -v a="$load_start" -v b="$load_end" 'BEGIN { printf "%.1f", b - a }')s"
rel_scrape "$WORK/metrics-after.txt"
curl -s --max-time 5 "$REGFIX_FAULTS_URL/_fault/stats" >"$WORK/proxy-stats.json" || echo '{"requests":[]}' >"$WORK/proxy-stats.json"
python3 "$REL_HELPERS/probe.py" "$REL_LISTEN_PORT" "$WORK/certs/ca.crt" "$WORK/bodies" after >"$WORK/probes-after.json"
sleep 3   # samples after the load: connections closed, fds back

kill -TERM "$SERVER_PID"
server_exit=0
wait "$SERVER_PID" || server_exit=$?
SERVER_PID=""
rel_log "server exited with status $server_exit"

# The JSON log: count decision lines; keep the rest (notices, warnings, errors) for the report.
decision_lines=$(grep -c '"message":"admission decision"' "$WORK/server.log" || true)
grep -v '"message":"admission decision"' "$WORK/server.log" >"$WORK/server-other.log" || true
if [ "$keep_logs" = 0 ]; then
    head -n 1000 "$WORK/server.log" >"$WORK/server-head.log"
    rm -f "$WORK/server.log"
fi
rel_registry_stop

wall=$(rel_since "$wall0")
python3 - "$WORK" "$duration" "$rate" "$rate_source" "${saturation:-}" "$load_start" "$load_end" "$window" \
    "$server_exit" "$decision_lines" "$wall" "$slope_max" <<'EOF'
import json, sys
work, duration, rate, rate_source, saturation, t0, t1, window, server_exit, decisions, wall, slope_max = sys.argv[1:13]
streams = []
exits = dict(line.split() for line in open(work + "/stream-exits.txt"))
for line in open(work + "/streams.txt"):
    name, path, conns, per_conn, pid = line.split()
    streams.append({"name": name, "path": path, "conns": int(conns), "rate": float(per_conn) * int(conns),
                    "log": "%s/h2load/%s.log" % (work, name), "out": "%s/h2load/%s.out" % (work, name),
                    "exit": int(exits.get(pid, -1))})
proxy = {}
for row in json.load(open(work + "/proxy-stats.json")).get("requests", []):
    proxy["%s %s" % (row["method"], row["path"])] = row["count"]
levels, errors = {}, 0
for line in open(work + "/server-other.log"):
    try:
        level = json.loads(line).get("level", "?")
    except ValueError:
        level = "unparsed"
    levels[level] = levels.get(level, 0) + 1
    if level in ("error", "critical", "unparsed"):
        errors += 1
run = {
    "work": work, "duration_s": float(duration), "rate": int(rate), "rate_source": rate_source,
    "saturation_rps": int(saturation) if saturation else None,
    "load_start": float(t0), "load_end": float(t1), "window_s": float(window), "warmup_s": round(0.1 * float(duration), 1),
    "streams": streams, "samples": work + "/samples.jsonl", "sample_interval_s": 2,
    "metrics_before": work + "/metrics-before.txt", "metrics_after": work + "/metrics-after.txt",
    "proxy_stats": proxy, "probes": json.load(open(work + "/probes-before.json")) + json.load(open(work + "/probes-after.json")),
    "server_exit": int(server_exit),
    "server_log": {"decision_lines": int(decisions or 0), "other_lines": sum(levels.values()), "levels": levels, "error_lines": errors},
    "fd_tolerance": 16, "thread_tolerance": 4, "rss_growth_max_pct": 10, "rss_slope_max_mib_per_h": float(slope_max),
    "wall_s": float(wall), "expect": json.load(open(work + "/bodies/expect.json")),
}
try:
    run["probes_during"] = json.load(open(work + "/probes-during.json"))
except (OSError, ValueError):
    run["probes_during"] = {}
json.dump(run, open(work + "/run.json", "w"), indent=1)
EOF
status=0
python3 "$REL_HELPERS/soak_report.py" "$WORK/run.json" | tee "$WORK/report.md" || status=$?
rel_log "wall time $(rel_since "$wall0")s${REL_BUILD_SECONDS:+ (build ${REL_BUILD_SECONDS}s)}; files in $WORK"
exit "$status"
