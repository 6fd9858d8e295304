#!/usr/bin/env bash
# oom-repro.sh - runs `nonroot-admission serve` in a memory cgroup as small as the Deployment's limit and
# has N connections each send (and hold) BODY_MIB of a request body, as scripts/faults.sh's bad-input test
# does without the cgroup. Shows whether the kernel OOM-kills the server before --max-buffered-bytes
# refuses the extra bodies with 503. Needs root and the cgroup memory controller (v1 or v2).
#
# Usage: scripts/reliability/oom-repro.sh [N=24] [BODY_MIB=7] [LIMIT_MIB=128] [-- extra serve flags]
#   e.g. scripts/reliability/oom-repro.sh 24 7 128                                   # default budget
#        scripts/reliability/oom-repro.sh 24 7 128 -- --max-buffered-bytes 67108864  # a 64 MiB budget
# The server is moved into the cgroup after it starts, so its first ~35 MiB are not charged to it:
# a container, where everything is charged, has less room than this shows.
# Environment: NONROOT_BIN (default .build/release/nonroot-admission), REL_PORT_BASE (default 5400).
set -euo pipefail
REL_NAME=oom-repro
# shellcheck source=common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
n=${1:-24} mib=${2:-7} limit=${3:-128}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
[ "$(id -u)" = 0 ] || rel_die "needs root (it creates a memory cgroup)"
rel_workdir oom-repro
rel_binary 0
rel_certs "$WORK/certs"
trap 'rel_cleanup; [ -n "${CG:-}" ] && rmdir "$CG" 2>/dev/null || true' EXIT
if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
    CG=/sys/fs/cgroup/memory/nonroot-oom-repro.$$; mkdir "$CG"; echo $((limit << 20)) >"$CG/memory.limit_in_bytes"
    kills() { awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control"; }
    peak() { echo $(( $(cat "$CG/memory.max_usage_in_bytes") >> 20 )); }
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
    CG=/sys/fs/cgroup/nonroot-oom-repro.$$; mkdir "$CG"; echo $((limit << 20)) >"$CG/memory.max"; echo 0 >"$CG/memory.swap.max" 2>/dev/null || true
    kills() { awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events"; }
    peak() { [ -f "$CG/memory.peak" ] && echo $(( $(cat "$CG/memory.peak") >> 20 )) || echo "?"; }
else
    rel_die "no writable cgroup memory controller"
fi
"$BIN" serve --tls-cert-file "$WORK/certs/tls.crt" --tls-key-file "$WORK/certs/tls.key" --listen "127.0.0.1:$REL_LISTEN_PORT" \
    --metrics-listen "127.0.0.1:$REL_METRICS_PORT" --threads 2 --shutdown-delay 1s "$@" 2>"$WORK/server.log" &
SERVER_PID=$!
rel_wait_ready "$SERVER_PID" || rel_die "server not ready"
echo "$SERVER_PID" >"$CG/cgroup.procs"
rel_log "server $SERVER_PID in $CG (limit $limit MiB), flags: ${*:-none}; $n connections x $mib MiB"
python3 - "$REL_LISTEN_PORT" "$WORK/certs/ca.crt" "$n" "$mib" "$SERVER_PID" <<'PY'
import re, socket, ssl, sys, time
port, ca, n, mib, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
part, held, block = int(mib * (1 << 20)), [], b"x" * 65536
for i in range(n):
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1")
        s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (part + 1024))
        for _ in range(part // len(block)):
            s.sendall(block)
        held.append(s)
    except OSError as e:
        print("connection %d: %s (server %s)" % (i + 1, type(e).__name__, "alive" if __import__("os").path.exists("/proc/%d/status" % pid) else "gone"))
        break
time.sleep(1)
codes = {}
for s in held:
    try:
        s.settimeout(0.3)
        m = re.match(rb"HTTP/1\.1 (\d+)", s.recv(100))
        code = m.group(1).decode() if m else "closed"
    except socket.timeout:
        code = "holding"
    except OSError as e:
        code = type(e).__name__
    codes[code] = codes.get(code, 0) + 1
print("sent %d bodies; answers: %s" % (len(held), codes))
PY
sleep 1
if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "RESULT: server alive; cgroup peak $(peak) MiB; oom kills $(kills)"
    status=0
else
    wait "$SERVER_PID" && code=0 || code=$?
    SERVER_PID=""
    echo "RESULT: server died with exit status $code; oom kills $(kills)"
    status=1
fi
exit "$status"
