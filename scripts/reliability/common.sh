# shellcheck shell=bash
# Shared by scripts/soak.sh and scripts/faults.sh (sourced, never run). Loopback only: every process
# started here listens on 127.0.0.1 and every request goes to 127.0.0.1.
#
# Environment (both scripts):
#   NONROOT_BIN          server binary to test (default: .build/release/nonroot-admission, built first
#                        unless --no-build). It is copied into the work directory before it starts, so a
#                        concurrent rebuild of the tree cannot swap it mid-run.
#   REL_PORT_BASE        first of 8 registry-fixture ports (default 5400); the server listens on
#                        REL_PORT_BASE+20 (TLS) and +21 (metrics), the helpers use +22..+29.
#   REL_WORK             work directory (default: a new /tmp/nonroot-<script>.XXXXXX, kept at the end)

REL_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$REL_HELPERS/../.." && pwd)
REL_PORT_BASE=${REL_PORT_BASE:-5400}
REL_LISTEN_PORT=$((REL_PORT_BASE + 20))
REL_METRICS_PORT=$((REL_PORT_BASE + 21))
REL_PIDS=()          # processes this script started (killed by rel_cleanup, by PID)
REL_REGISTRY_UP=0
SERVER_PID=""

rel_log() { printf '[%s %s] %s\n' "${REL_NAME:-reliability}" "$(date +%H:%M:%S)" "$*" >&2; }
rel_die() { rel_log "ERROR: $*"; exit 2; }
rel_now() { date +%s.%N; }
rel_since() { awk -v a="$1" -v b="$(rel_now)" 'BEGIN { printf "%.1f", b - a }'; }

rel_need_tools() {
    local tool missing=()
    for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
    [ "${#missing[@]}" = 0 ] || rel_die "missing tools: ${missing[*]} (Debian: nghttp2-client curl openssl python3)"
}

# rel_workdir NAME: creates (or takes REL_WORK as) the work directory; sets WORK.
rel_workdir() {
    if [ -n "${REL_WORK:-}" ]; then
        WORK=$REL_WORK
        mkdir -p "$WORK"
    else
        WORK=$(mktemp -d "/tmp/nonroot-$1.XXXXXX")
    fi
}

# rel_binary BUILD(0|1): builds the release server unless told not to, then snapshots it to $WORK/bin.
rel_binary() {
    local build=$1 source=${NONROOT_BIN:-$REPO/.build/release/nonroot-admission} t0
    if [ "$build" = 1 ] && [ -z "${NONROOT_BIN:-}" ]; then
        t0=$(rel_now)
        rel_log "building: swift build -c release --product nonroot-admission"
        (cd "$REPO" && swift build -c release --product nonroot-admission >"$WORK/build.log" 2>&1) \
            || { tail -n 30 "$WORK/build.log" >&2; rel_die "build failed ($WORK/build.log)"; }
        REL_BUILD_SECONDS=$(rel_since "$t0")
        rel_log "built in ${REL_BUILD_SECONDS}s"
    fi
    [ -x "$source" ] || rel_die "no server binary at $source (build it, or set NONROOT_BIN)"
    mkdir -p "$WORK/bin"
    cp "$source" "$WORK/bin/nonroot-admission"
    BIN=$WORK/bin/nonroot-admission
}

# rel_ports_free PORT...: fails when something already listens on one of them.
rel_ports_free() {
    python3 - "$@" <<'EOF' || rel_die "a port is in use (set REL_PORT_BASE to move every port)"
import socket, sys
for p in map(int, sys.argv[1:]):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        print("port %d is busy" % p, file=sys.stderr)
        sys.exit(1)
    s.close()
EOF
}

# rel_certs DIR: a P-256 CA and a serving certificate for 127.0.0.1/localhost (ca.crt, tls.crt, tls.key).
rel_certs() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=nonroot reliability CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    rel_issue "$dir" "$dir"
}

# rel_issue CADIR OUTDIR: a new key and serving certificate from CADIR's CA into OUTDIR/tls.{crt,key}.
rel_issue() {
    local ca=$1 out=$2
    mkdir -p "$out"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' >"$out/ext.cnf"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
    openssl x509 -req -in "$out/tls.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
        -days 2 -extfile "$out/ext.cnf" -out "$out/tls.crt" 2>/dev/null
    rm -f "$out/tls.csr" "$out/ext.cnf"
}

# rel_registry_start: the registry fixture on REL_PORT_BASE..+7, state in $WORK/regfix; sources its env.
rel_registry_start() {
    local t0; t0=$(rel_now)
    export REGFIX_DIR="$WORK/regfix" REGFIX_PORT_BASE="$REL_PORT_BASE" REGFIX_VERIFY=0
    bash "$REPO/scripts/registry-fixture.sh" start >"$WORK/regfix-start.log" 2>&1 \
        || { tail -n 20 "$WORK/regfix-start.log" >&2; rel_die "registry fixture did not start"; }
    REL_REGISTRY_UP=1
    set -a
    # shellcheck disable=SC1091
    . "$REGFIX_DIR/env"
    set +a
    REG_PLAIN=${REGFIX_PLAIN_URL#http://}
    REG_FAULTS=${REGFIX_FAULTS_URL#http://}
    REG_TLS=${REGFIX_TLS_URL#https://}
    rel_log "registry fixture up in $(rel_since "$t0")s (plain $REG_PLAIN, faults $REG_FAULTS, tls $REG_TLS)"
}

# rel_prepare NAME BUILD(0|1): what soak.sh and faults.sh both do first: a work directory, cleanup on
# exit, the server binary, free ports, certificates, the registry fixture and the request bodies.
rel_prepare() {
    rel_workdir "$1"
    rel_log "work directory $WORK"
    trap 'rel_cleanup' EXIT
    trap 'exit 130' INT TERM
    rel_binary "$2"
    rel_ports_free $(seq "$REL_PORT_BASE" $((REL_PORT_BASE + 7))) "$REL_LISTEN_PORT" "$REL_METRICS_PORT"
    rel_certs "$WORK/certs"
    rel_registry_start
    python3 "$REL_HELPERS/bodies.py" "$REPO" "$WORK/bodies" "$REG_PLAIN" "$REG_FAULTS" "$REG_TLS"
}

rel_registry_stop() {
    if [ "$REL_REGISTRY_UP" = 1 ]; then
        REGFIX_DIR="$WORK/regfix" REGFIX_PORT_BASE="$REL_PORT_BASE" bash "$REPO/scripts/registry-fixture.sh" stop >>"$WORK/regfix-start.log" 2>&1 || true
        REL_REGISTRY_UP=0
    fi
}

# rel_wait_ready PID [SECONDS]: waits for /readyz 200 on the metrics port while PID lives.
rel_wait_ready() {
    local pid=$1 limit=${2:-20} i
    for i in $(seq 1 $((limit * 20))); do
        kill -0 "$pid" 2>/dev/null || return 1
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$REL_METRICS_PORT/readyz")" = 200 ] && return 0
        sleep 0.05
    done
    return 1
}

# rel_metric TEXTFILE NAME [LABEL-SUBSTRING...]: sum of the samples of NAME whose labels contain every substring.
rel_metric() {
    local file=$1 name=$2; shift 2
    python3 - "$file" "$name" "$@" <<'EOF'
import sys
path, name, subs = sys.argv[1], sys.argv[2], sys.argv[3:]
total = 0.0
for line in open(path):
    if line.startswith("#") or not line.strip():
        continue
    key, _, value = line.rpartition(" ")
    metric = key.split("{", 1)[0]
    if metric == name and all(s in key for s in subs):
        total += float(value)
print(int(total) if total == int(total) else total)
EOF
}

rel_scrape() { curl -s --max-time 5 "http://127.0.0.1:$REL_METRICS_PORT/metrics" >"$1" || : >"$1"; }

# rel_stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS; only for processes we started.
rel_stop_pid() {
    local pid=$1 limit=${2:-10} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((limit * 10))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

rel_cleanup() {
    local pid
    for pid in "${REL_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done
    rel_stop_pid "$SERVER_PID" 5
    for pid in "${REL_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    rel_registry_stop
}
