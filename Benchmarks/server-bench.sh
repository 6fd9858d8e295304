#!/usr/bin/env bash
# Server benchmark: `nonroot-admission serve` against nginx returning a static AdmissionReview over the
# same certificate (the transport floor), alternating within one run, on 127.0.0.1 only.
#
# Usage: Benchmarks/server-bench.sh [SECONDS_PER_RUN=10] [ROUNDS=3]
# Prints a Markdown report; raw h2load output stays in the work directory it names.
# Besides the allowed review, every round times a denied one (Fixtures/realistic-pod-review-denied.json:
# the same pod with envoy's runAsUser removed, so its image without USER is denied and the kubelet's
# message and the hint are built), on our server only: nginx's static answer has no decision to make.
# Exit status 1 when any run had a non-200 answer, an h2load failed/errored/timeout request, a missing
# h2load summary or a non-zero h2load exit: a figure from a run with errors is not reported as good.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}

need=""
for tool in nginx h2load openssl python3; do command -v "$tool" >/dev/null || need=1; done
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need=1
if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends nginx libnginx-mod-http-echo nghttp2-client openssl python3 >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends nginx libnginx-mod-http-echo nghttp2-client openssl python3 >/dev/null; }
fi

work=$(mktemp -d /tmp/nonroot-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# One P-256 CA and a serving certificate for localhost, shared by both servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench-ca" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

# NONROOT_BIN: an already built release binary (e.g. from another scratch path); else build one here.
if [ -n "${NONROOT_BIN:-}" ]; then
    bin=$NONROOT_BIN
else
    swift build -c release --product nonroot-admission >/dev/null
    bin=.build/release/nonroot-admission
fi
body=Benchmarks/Fixtures/realistic-pod-review.json
denied_body=Benchmarks/Fixtures/realistic-pod-review-denied.json
catalog=Benchmarks/Fixtures/images.yaml

# The denial fixture must really be denied, with the kubelet's message.
"$bin" replay "$denied_body" --images "$catalog" --format json >"$work/denied-replay.json" || true
python3 - "$work/denied-replay.json" <<'EOF' || { echo "the denial fixture is not denied as expected" >&2; exit 2; }
import json, sys
r = json.loads(open(sys.argv[1]).readline())["response"]
assert r["allowed"] is False and r["status"]["code"] == 403, r
assert r["status"]["message"] == 'container has runAsNonRoot and image will run as root (pod: "checkout-6f9c7d8b5d-q8x2z_shop(5b0e7f5e-2a8d-4c1b-9a6e-3f2d1c0b9a87)", container: envoy)', r
EOF

# nginx answers with exactly what our server answers for this review.
. Benchmarks/static-answer.sh
static=$(static_answer "$bin" "$body" "$catalog")

ours_port=19443; ours_metrics=19080; nginx_port=19444
nginx_static_conf "$work" "$nginx_port" 2 "$static"
nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!; pids+=("$nginx_pid")
"$bin" serve --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" --images "$catalog" \
    --listen "127.0.0.1:$ours_port" --metrics-listen "127.0.0.1:$ours_metrics" 2>"$work/server.log" &
ours_pid=$!; pids+=("$ours_pid")
sleep 1

cpu_seconds() {  # utime+stime of a process and its children, in seconds
    local total=0
    for pid in "$@"; do
        read -r -a stat < "/proc/$pid/stat"
        total=$((total + stat[13] + stat[14]))
    done
    echo "scale=3; $total / $(getconf CLK_TCK)" | bc
}
nginx_pids() { echo "$nginx_pid" $(pgrep -P "$nginx_pid"); }

url() { echo "https://localhost:$1/validate"; }
load() {  # server label, port, log file, request body, h2load flags...
    local label=$1 port=$2 log=$3 request=$4; shift 4
    local pidlist
    if [ "$label" = ours ]; then pidlist=$ours_pid; else pidlist=$(nginx_pids); fi
    local before after h2exit=0
    before=$(cpu_seconds $pidlist)
    h2load "$@" -d "$request" -H 'content-type: application/json' --log-file="$log" "$(url "$port")" > "$log.out" 2>&1 || h2exit=$?
    after=$(cpu_seconds $pidlist)
    local rps
    rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$log.out")
    # h2load's own count of failed, errored and timed-out requests ("requests: N total, ... N failed,
    # N errored, N timeout"); -1 when it printed no summary or exited non-zero.
    local h2errors
    h2errors=$(awk '/^requests:/ {print $10 + $12 + $14; found=1} END {if (!found) print -1}' "$log.out")
    [ "$h2exit" = 0 ] || h2errors=-1
    local lat
    lat=$(python3 Benchmarks/latency.py "$log")
    echo "$label ${rps:-0} $(echo "$after - $before" | bc) $h2errors $lat"
}

# Warm both up.
for port in $ours_port $nginx_port; do
    h2load --h1 -n 3000 -c 8 -d "$body" -H 'content-type: application/json' "$(url "$port")" >/dev/null 2>&1
done
h2load --h1 -n 3000 -c 8 -d "$denied_body" -H 'content-type: application/json' "$(url "$ours_port")" >/dev/null 2>&1

results="$work/results.txt"
: > "$results"
for round in $(seq 1 "$rounds"); do
    order="ours nginx"; [ $((round % 2)) -eq 0 ] && order="nginx ours"
    for label in $order; do
        port=$ours_port; [ "$label" = nginx ] && port=$nginx_port
        echo "h1-c32 $round $(load "$label" "$port" "$work/h1-$label-$round.log" "$body" --h1 -c 32 -m 1 -D "$seconds")" >> "$results"
        echo "h2-c4-m16 $round $(load "$label" "$port" "$work/h2-$label-$round.log" "$body" -c 4 -m 16 -D "$seconds")" >> "$results"
    done
    echo "h1-c32-denied $round $(load ours "$ours_port" "$work/h1-denied-ours-$round.log" "$denied_body" --h1 -c 32 -m 1 -D "$seconds")" >> "$results"
done

# Half of our measured HTTP/1.1 saturation, as a fixed rate: 32 connections, each at rate/32.
saturation=$(awk '$1 == "h1-c32" && $3 == "ours" {print $4}' "$results" | sort -n | awk '{a[NR]=$1} END {print int(a[int((NR+1)/2)])}')
per_connection=$(( saturation / 2 / 32 )); [ "$per_connection" -ge 1 ] || per_connection=1
for round in $(seq 1 "$rounds"); do
    order="ours nginx"; [ $((round % 2)) -eq 0 ] && order="nginx ours"
    for label in $order; do
        port=$ours_port; [ "$label" = nginx ] && port=$nginx_port
        echo "h1-half $round $(load "$label" "$port" "$work/half-$label-$round.log" "$body" --h1 -c 32 -m 1 --rps="$per_connection" -D "$seconds")" >> "$results"
    done
done

ours_rss=$(awk '/VmHWM/ {print $2}' "/proc/$ours_pid/status")
nginx_rss=0
for pid in $(nginx_pids); do nginx_rss=$((nginx_rss + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status"))); done
kill "$ours_pid" "$nginx_pid"; wait "$ours_pid" 2>/dev/null || true

startups=()
for _ in $(seq 1 10); do
    startups+=("$(python3 Benchmarks/startup.py "$ours_port" "$work/ca.pem" "$body" -- "$bin" serve \
        --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" --images "$catalog" \
        --listen "127.0.0.1:$ours_port" --metrics-listen "127.0.0.1:$ours_metrics")")
done

status=0
python3 - "$results" "$ours_rss" "$nginx_rss" "$per_connection" "$seconds" "$rounds" "${startups[@]}" <<'EOF' || status=$?
import json, statistics, sys
path, ours_rss, nginx_rss, per_conn, seconds, rounds = sys.argv[1:7]
startups = sorted(float(s) for s in sys.argv[7:] if s != "timeout")
rows = {}
for line in open(path):
    scenario, rnd, label, rps, cpu, h2errors, lat = line.split(" ", 6)
    lat = json.loads(lat)
    lat["h2load_errors"] = int(h2errors)
    rows.setdefault((scenario, label), []).append((int(rnd), float(rps), float(cpu), lat))
def med(values):
    return statistics.median(values) if values else float("nan")
print(f"Rounds: {rounds}, {seconds} s per run, order alternating per round. Body: 6,584-byte Pod review.\n")
print("| scenario | server | req/s min / median / max | × nginx (per-round median) | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | non-200 | h2load errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
failures = []
for scenario in ("h1-c32", "h1-c32-denied", "h2-c4-m16", "h1-half"):
    for label in ("ours", "nginx"):
        data = rows.get((scenario, label), [])
        if not data:
            continue
        rps = sorted(d[1] for d in data)
        ratios = []
        # The denial row is set against nginx's static answer to the allowed review in the same round.
        baseline = "h1-c32" if scenario == "h1-c32-denied" else scenario
        for rnd, r, _, _ in data:
            other = [d[1] for d in rows.get((baseline, "nginx"), []) if d[0] == rnd]
            if other and other[0] > 0:
                ratios.append(r / other[0])
        cpu = med([d[2] * 1e6 / max(1, d[3]["requests"]) for d in data])
        p50 = med([d[3]["p50"] for d in data]); p99 = med([d[3]["p99"] for d in data]); p999 = med([d[3]["p999"] for d in data])
        bad = sum(d[3]["non200"] for d in data)
        # -1: h2load printed no summary or exited non-zero, which counts as an error too.
        h2bad = sum(d[3]["h2load_errors"] if d[3]["h2load_errors"] >= 0 else 1 for d in data)
        if bad or h2bad or any(d[3]["requests"] == 0 for d in data):
            failures.append(f"{scenario} {label}: {bad} non-200, {h2bad} h2load errors")
        name = "nonroot-admission" if label == "ours" else "nginx (static)"
        name += " (denial)" if scenario == "h1-c32-denied" else ""
        print(f"| {scenario} | {name} | {rps[0]:.0f} / {med(rps):.0f} / {rps[-1]:.0f} | {med(ratios):.3f} | {p50:.0f} | {p99:.0f} | {p999:.0f} | {cpu:.0f} | {bad} | {h2bad} |")
denied = {d[0]: d[1] for d in rows.get(("h1-c32-denied", "ours"), [])}
allowed = {d[0]: d[1] for d in rows.get(("h1-c32", "ours"), [])}
per_round = [denied[r] / allowed[r] for r in denied if allowed.get(r)]
if per_round:
    print(f"\nh1-c32-denied: the 6,598-byte review whose envoy container is denied (message and hint built), against nginx's h1-c32 in the same round; "
          f"denied / allowed throughput of nonroot-admission per round: {', '.join(f'{x:.3f}' for x in per_round)}.")
print(f"\nh1-half: fixed rate of {int(per_conn) * 32} req/s (half of nonroot-admission's median h1-c32 saturation).")
print(f"Peak RSS (VmHWM): nonroot-admission {int(ours_rss) / 1024:.1f} MiB; nginx master + workers {int(nginx_rss) / 1024:.1f} MiB.")
if startups:
    print(f"Start to first TLS answer (10 runs): min {startups[0]:.1f} / median {statistics.median(startups):.1f} / max {startups[-1]:.1f} ms.")
if failures:
    print("\nFAIL: runs with errors: " + "; ".join(failures))
    sys.exit(1)
EOF
echo
echo "raw results: $work"
exit "$status"
