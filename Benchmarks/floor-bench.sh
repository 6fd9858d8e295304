#!/usr/bin/env bash
# The throughput floor of the stack, in req/s: nginx, the minimal SwiftNIO + swift-nio-ssl server
# (Benchmarks' MinimalTLSServer: read the body, answer fixed bytes) and `nonroot-admission serve`, on the same
# certificate, review and answer bytes, at saturation, alternating per round. It says how far below nginx a
# server on this stack stays even when it does no work of its own (issue 13).
#
# Usage: Benchmarks/floor-bench.sh [SECONDS=10] [ROUNDS=3]   (env NONROOT_BIN, MINIMAL_BIN: prebuilt binaries)
# nginx runs 2 workers and the Swift servers 2 event loops, as in server-bench.sh; h2load shares the 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
. Benchmarks/static-answer.sh
bench_prelude floor "nghttp2-client nginx libnginx-mod-http-echo openssl curl" h2load nginx openssl curl python3

bin=${NONROOT_BIN:-}
if [ -z "$bin" ]; then swift build -c release --product nonroot-admission >/dev/null; bin=.build/release/nonroot-admission; fi
minimal=${MINIMAL_BIN:-}
if [ -z "$minimal" ]; then (cd Benchmarks && swift build -c release --product MinimalTLSServer >/dev/null); minimal=Benchmarks/.build/release/MinimalTLSServer; fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
body=Benchmarks/Fixtures/realistic-pod-review.json
catalog=Benchmarks/Fixtures/images.yaml
static_answer "$bin" "$body" "$catalog" > "$work/answer.json"
nginx_static_conf "$work" 19644 2 "$(cat "$work/answer.json")"

"$bin" serve --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" --images "$catalog" \
    --listen 127.0.0.1:19643 --metrics-listen 127.0.0.1:19681 > "$work/ours.log" 2>&1 &
pids+=("$!")
"$minimal" 19645 "$work/tls.crt" "$work/tls.key" "$work/answer.json" 2 > "$work/minimal.log" 2>&1 &
pids+=("$!")
nginx -c "$work/nginx.conf" -p "$work" > "$work/nginx.log" 2>&1 &
pids+=("$!")

declare -A ports=([ours]=19643 [minimal]=19645 [nginx]=19644)
for label in ours minimal nginx; do
    port=${ports[$label]}
    for _ in $(seq 100); do
        curl -sk -o /dev/null "https://127.0.0.1:$port/validate" -H 'content-type: application/json' --data-binary "@$body" && break
        sleep 0.1
    done
    # The answer must be the same bytes from every server, or the comparison is not like for like.
    curl -sk "https://127.0.0.1:$port/validate" -H 'content-type: application/json' --data-binary "@$body" > "$work/$label.answer"
    h2load --h1 -n 3000 -c 8 -d "$body" -H 'content-type: application/json' "https://127.0.0.1:$port/validate" >/dev/null 2>&1
done
cmp -s "$work/minimal.answer" "$work/nginx.answer" || { echo "minimal and nginx answer different bytes" >&2; exit 1; }
python3 - "$work/ours.answer" "$work/nginx.answer" <<'PY' || { echo "ours and nginx answer different reviews" >&2; exit 1; }
import json, sys
a, b = (json.load(open(path)) for path in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY

: > "$work/results.txt"
for round in $(seq 1 "$rounds"); do
    order=(ours minimal nginx)
    [ $((round % 2)) = 0 ] && order=(nginx minimal ours)
    for scenario in h1 h2; do
        flags=(--h1 -c 32)
        [ "$scenario" = h2 ] && flags=(-c 4 -m 16)
        for label in "${order[@]}"; do
            out="$work/$scenario-$label-$round.out"
            h2load "${flags[@]}" -D "$seconds" -d "$body" -H 'content-type: application/json' "https://127.0.0.1:${ports[$label]}/validate" > "$out" 2>&1 || true
            rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$out")
            errors=$(awk '/^requests:/ {print $10 + $12 + $14; found=1} END {if (!found) print -1}' "$out")
            echo "$scenario $round $label ${rps:-0} $errors" >> "$work/results.txt"
        done
    done
done

python3 - "$work/results.txt" "$seconds" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    scenario, rnd, label, rps, errors = line.split()
    rows.setdefault((scenario, label), []).append((int(rnd), float(rps), int(errors)))
print(f"Rounds: {sys.argv[3]}, {sys.argv[2]} s per run, order alternating per round. Body: 6,584-byte Pod review.\n")
print("| scenario | server | req/s min / median / max | × nginx (per-round median) | h2load errors |")
print("|---|---|---|---|---|")
names = {"nginx": "nginx (static, 2 workers)", "minimal": "minimal SwiftNIO + swift-nio-ssl", "ours": "nonroot-admission serve"}
bad = False
for scenario, title in (("h1", "HTTP/1.1, 32 conns"), ("h2", "HTTP/2, 4 × 16")):
    nginx = {rnd: rps for rnd, rps, _ in rows[(scenario, "nginx")]}
    for label in ("nginx", "minimal", "ours"):
        runs = rows[(scenario, label)]
        values = sorted(rps for _, rps, _ in runs)
        ratio = statistics.median(rps / nginx[rnd] for rnd, rps, _ in runs if nginx[rnd] > 0)
        errors = sum(e if e >= 0 else 1 for _, _, e in runs)
        bad = bad or errors > 0 or values[0] == 0
        print(f"| {title} | {names[label]} | {values[0]:.0f} / {statistics.median(values):.0f} / {values[-1]:.0f} | {ratio:.3f} | {errors} |")
if bad:
    print("\nFAIL: a run had errors or no summary")
    sys.exit(1)
PY
echo "raw results: $work"
