#!/usr/bin/env bash
# Instructions per review, counted by valgrind's callgrind: stable from run to run on a busy machine,
# unlike req/s. Three servers on the same certificate and the same 6,584-byte review, over TLS:
#   ours     `nonroot-admission serve` (release, default settings: info-level decision log, metrics);
#   minimal  Benchmarks' MinimalTLSServer: SwiftNIO + swift-nio-ssl, read the body, fixed answer (the NIO floor);
#   nginx    one worker answering the same bytes (the transport floor of BENCHMARKS.md §2).
# Per request = (Ir after N2 requests - Ir after N1 requests) / (N2 - N1), both counted from zero on warm
# connections' server, so start-up, handshakes and warm-up cancel out. All threads are counted.
#
# Usage: Benchmarks/instructions.sh [N1=300] [N2=1300]   (env NONROOT_BIN, MINIMAL_BIN: prebuilt binaries)
# Prints a Markdown table; each server's callgrind dump of the N2 run and its top functions stay in the
# work directory it names (callgrind_annotate --inclusive=yes <dump> for the inclusive view).
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${1:-300}
n2=${2:-1300}
. Benchmarks/static-answer.sh
bench_prelude instructions "valgrind nghttp2-client nginx libnginx-mod-http-echo openssl" valgrind callgrind_control callgrind_annotate h2load nginx openssl

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

bin=${NONROOT_BIN:-}
if [ -z "$bin" ]; then swift build -c release --product nonroot-admission >/dev/null; bin=.build/release/nonroot-admission; fi
minimal=${MINIMAL_BIN:-}
if [ -z "$minimal" ]; then (cd Benchmarks && swift build -c release --product MinimalTLSServer >/dev/null); minimal=Benchmarks/.build/release/MinimalTLSServer; fi
# valgrind 3.19 (and 3.24) cannot read these binaries' DWARF, so count on copies without it (symbols stay);
# and its rt_sigsuspend wrapper writes to the mask, which libdispatch (Swift's async main) keeps read-only:
# a preloaded sigsuspend that passes a copy.
objcopy --strip-debug "$bin" "$work/nonroot-admission"; bin=$work/nonroot-admission
objcopy --strip-debug "$minimal" "$work/MinimalTLSServer"; minimal=$work/MinimalTLSServer
cat > "$work/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8); }
C
cc -shared -fPIC -O2 -o "$work/sigsuspend.so" "$work/sigsuspend.c"
body=Benchmarks/Fixtures/realistic-pod-review.json
catalog=Benchmarks/Fixtures/images.yaml
static_answer "$bin" "$body" "$catalog" > "$work/answer.json"
nginx_static_conf "$work" 19544 1 "$(cat "$work/answer.json")"

# callgrind a server: label, port, command...
measure() {
    local label=$1 port=$2; shift 2
    LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$work/$label.%p.out" "$@" >"$work/$label.log" 2>&1 &
    local pid=$!; pids+=("$pid")
    for _ in $(seq 300); do
        curl -sk -o /dev/null "https://127.0.0.1:$port/validate" -H 'content-type: application/json' --data-binary "@$body" && break
        sleep 0.2
    done
    local results=()
    for protocol in h1 h2; do
        local flags=(--h1 -c 8)
        [ "$protocol" = h2 ] && flags=(-c 2 -m 8)
        local irs=()
        for n in "$n1" "$n2"; do
            h2load "${flags[@]}" -n 200 -d "$body" -H 'content-type: application/json' "https://127.0.0.1:$port/validate" >/dev/null 2>&1
            callgrind_control -z "$pid" >/dev/null 2>&1
            h2load "${flags[@]}" -n "$n" -d "$body" -H 'content-type: application/json' "https://127.0.0.1:$port/validate" >"$work/$label-$protocol-$n.h2load" 2>&1
            grep -q "$n succeeded" "$work/$label-$protocol-$n.h2load" || { echo "$label $protocol: not every request succeeded" >&2; cat "$work/$label-$protocol-$n.h2load" >&2; exit 1; }
            callgrind_control -d "$label-$protocol-$n" "$pid" >/dev/null 2>&1
            sleep 0.5
            local dump
            dump=$(ls -t "$work/$label".*.out.* 2>/dev/null | head -1)
            irs+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")")
            mv "$dump" "$work/$label-$protocol-$n.callgrind"
        done
        results+=("$(( (irs[1] - irs[0]) / (n2 - n1) ))")
        callgrind_annotate "$work/$label-$protocol-$n2.callgrind" 2>/dev/null | head -60 > "$work/$label-$protocol-top.txt" || true
    done
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$label ${results[*]}"
}

{
    measure ours 19543 "$bin" serve --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" --images "$catalog" \
        --listen 127.0.0.1:19543 --metrics-listen 127.0.0.1:19581
    measure minimal 19545 "$minimal" 19545 "$work/tls.crt" "$work/tls.key" "$work/answer.json" 2
    measure nginx 19544 nginx -c "$work/nginx.conf" -p "$work"
} > "$work/results.txt"

python3 - "$work/results.txt" "$n1" "$n2" "$work" <<'PY'
import sys
rows = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in open(sys.argv[1]) if line.strip()}
print(f"Instructions per request (callgrind, all threads; ({sys.argv[3]} - {sys.argv[2]}) requests differenced), 6,584-byte review over TLS:\n")
print("| server | HTTP/1.1, 8 conns | × nginx | HTTP/2, 2 conns × 8 streams | × nginx |")
print("|---|---|---|---|---|")
names = {"ours": "nonroot-admission serve", "minimal": "minimal SwiftNIO + swift-nio-ssl", "nginx": "nginx (static)"}
for key in ("ours", "minimal", "nginx"):
    h1, h2 = rows[key]
    print(f"| {names[key]} | {h1:,} | {h1 / rows['nginx'][0]:.2f} | {h2:,} | {h2 / rows['nginx'][1]:.2f} |")
print(f"\nours above the NIO floor: HTTP/1.1 {rows['ours'][0] - rows['minimal'][0]:,}, HTTP/2 {rows['ours'][1] - rows['minimal'][1]:,} instructions per request")
print(f"work directory: {sys.argv[4]}")
PY
