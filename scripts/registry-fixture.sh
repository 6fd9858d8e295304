#!/usr/bin/env bash
# registry-fixture.sh - the registry test-bed for nonroot-admission's registry tests.
#
# nonroot-admission resolves an image's config.User by talking to OCI registries. The tests of that
# client (manifest/index negotiation, platform selection, digest checks, Basic and Bearer auth, TLS with
# a custom CA, redirects, 429/5xx/timeouts, size caps, request coalescing) run against the real registries
# this script starts as plain processes on 127.0.0.1: Debian's docker-registry (CNCF distribution 2.8),
# plus small stdlib-only Python helpers (token server, S3-like blob host, fault-injecting proxy).
# No Docker engine and no image pulls: the test images are written by a Python script
# (deterministic bytes, so the same digests on every run and machine) and pushed with skopeo.
# Everything it runs is in scripts/registry-fixture/ (stdlib-only Python) or comes from Debian packages.
#
# Usage:
#   scripts/registry-fixture.sh install   apt-get update + install the Debian packages (root)
#   scripts/registry-fixture.sh start     (default) start everything, push fixtures, verify, print URLs;
#                                          installs the packages first when missing and running as root
#   scripts/registry-fixture.sh verify    re-run the end-to-end checks against running instances
#   scripts/registry-fixture.sh status    show recorded PIDs and whether they are alive
#   scripts/registry-fixture.sh env       print the env file (source it: set -a; . "$REGFIX_DIR/env"; set +a)
#   scripts/registry-fixture.sh stop      kill exactly the PIDs recorded by start (and nothing else)
#
# Typical use (CI or local):
#   bash scripts/registry-fixture.sh start
#   trap 'bash scripts/registry-fixture.sh stop' EXIT
#   set -a; . "${REGFIX_DIR:-${TMPDIR:-/tmp}/nonroot-registry-fixture}/env"; set +a
#   swift test        # the registry tests read the REGFIX_* variables
#
# Environment:
#   REGFIX_DIR        state dir (default: $TMPDIR/nonroot-registry-fixture, /tmp when TMPDIR is unset);
#                     wiped by start (only if it carries this script's marker file)
#   REGFIX_PORT_BASE  first port (default 5100); 8 consecutive ports are used:
#                     +0 plain  +1 redirect(TLS)  +2 blobhost(TLS)  +3 faults  +4 basic(TLS)  +5 token(TLS)
#                     +6 token server(TLS)  +7 tls (anonymous TLS)
#   REGFIX_USER / REGFIX_PASSWORD   credentials (default testuser / testpassword)
#   REGFIX_VERIFY=0   skip the verification at the end of start
#   REGFIX_AUTO_INSTALL=0  never call apt-get from start
#   REGFIX_PYTHON     python interpreter (default python3; stdlib only)
#   REGFIX_SLOW_SECONDS / REGFIX_HANG_SECONDS   fault proxy 'slow' / 'hang' delays (default 5 / 30)
#
# Servers (base 5100):
#   plain     http://127.0.0.1:5100       anonymous, pull and push
#   redirect  https://127.0.0.1:5101      TLS (custom CA) + htpasswd; blob GET/HEAD -> 307 to the blob host
#   blobhost  https://localhost:5102      TLS (same cert); serves blob data; 400 if the request carries
#                                         Authorization (like S3). Another origin than the registry (host
#                                         differs), both on TLS: a client that never sends credentials over
#                                         plain HTTP can still be tested for not forwarding them cross-origin.
#   faults    http://127.0.0.1:5103       proxy to plain; /v2/fault/<kind>/<repo>/... injects <kind>;
#                                         counts every request: GET /_fault/stats, GET /_fault/reset
#   basic     https://127.0.0.1:5104      TLS (custom CA) + htpasswd
#   token     https://127.0.0.1:5105      TLS + Bearer tokens from the token server
#   tokensrv  https://127.0.0.1:5106/token  anonymous pull except private/*; valid creds: everything
#   tls       https://127.0.0.1:5107      TLS (custom CA), anonymous
# All four registries share one storage root, so every fixture is on every registry.
set -Eeuo pipefail

CMD="${1:-start}"
STATE="${REGFIX_DIR:-${TMPDIR:-/tmp}/nonroot-registry-fixture}"
BASE="${REGFIX_PORT_BASE:-5100}"
RUSER="${REGFIX_USER:-testuser}"
RPASS="${REGFIX_PASSWORD:-testpassword}"
PY="${REGFIX_PYTHON:-python3}"
HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/registry-fixture"
PIDFILE="$STATE/pids"
MARKER="$STATE/.registry-fixture"
NPORTS=8

P_PLAIN=$BASE; P_REDIRECT=$((BASE + 1)); P_BLOBHOST=$((BASE + 2)); P_FAULTS=$((BASE + 3))
P_BASIC=$((BASE + 4)); P_TOKEN=$((BASE + 5)); P_TOKENSRV=$((BASE + 6)); P_TLS=$((BASE + 7))
SERVICE="regfix-registry"; ISSUER="regfix-token-issuer"
PKGS=(docker-registry skopeo apache2-utils openssl curl ca-certificates)

log() { printf '[registry-fixture] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

# Debian packages that are not installed (all of PKGS when dpkg is unavailable and a tool is missing).
# python3 (Debian's) only when no python3 is on PATH at all: a pyenv/venv python3 is fine.
missing_pkgs() {
  local p out=()
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${PKGS[@]}"; do
      dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p")
    done
  elif ! have_tools; then
    out=("${PKGS[@]}")
  fi
  command -v python3 >/dev/null 2>&1 || out+=(python3)
  if [ "${#out[@]}" -gt 0 ]; then printf '%s\n' "${out[@]}"; fi
}

have_tools() {
  local b
  for b in docker-registry skopeo htpasswd openssl curl "$PY"; do command -v "$b" >/dev/null 2>&1 || return 1; done
}

do_install() {
  [ "$(id -u)" = 0 ] || die "install needs root (apt-get)"
  local t0 pkgs=()
  t0=$(now)
  mapfile -t pkgs < <(missing_pkgs)
  if [ "${#pkgs[@]}" = 0 ]; then log "install: all packages already installed"; return 0; fi
  log "install: ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Without systemd (containers, CI VMs) the docker-registry package's own service is not started.
  # On a systemd host it IS started (on :5000, /etc/docker/registry/config.yml) - harmless here
  # because this fixture uses other ports; 'systemctl disable --now docker-registry' if unwanted.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  log "install: $(elapsed "$t0")s"
}

# ---------------------------------------------------------------- python helpers (scripts/registry-fixture/)
# The helpers run from copies in $STATE/bin: their command lines then name the state dir, which is how
# `stop` tells its own processes from a reused PID (ours), and `verify` uses the copies start used.
write_helpers() {
  mkdir -p "$STATE/bin"
  cp "$HELPERS"/gen_images.py "$HELPERS"/token_server.py "$HELPERS"/blobhost.py "$HELPERS"/faultproxy.py \
    "$HELPERS"/httpserve.py "$HELPERS"/verify.py "$STATE/bin/"
}

# ---------------------------------------------------------------- processes
record() { echo "$1 $2" >>"$PIDFILE"; }

wait_http() { # name url [curl args...]
  local name=$1 url=$2; shift 2
  local code
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" 2>/dev/null || true)
    case "$code" in 2??|3??|4??) return 0 ;; esac
    sleep 0.1
  done
  log "$name did not answer on $url; last log lines:"; tail -n 20 "$STATE/logs/$name.log" >&2 || true
  return 1
}

launch() { # name cmd... ; background a simple command (so $! is the server's own PID), own log, PID recorded
  local name=$1; shift
  nohup "$@" </dev/null >"$STATE/logs/$name.log" 2>&1 &
  local pid=$!
  record "$name" "$pid"
  sleep 0.05
  kill -0 "$pid" 2>/dev/null || { log "$name exited at once:"; tail -n 20 "$STATE/logs/$name.log" >&2; return 1; }
}

registry_config() { # name addr http-extra-yaml top-level-extra-yaml
  cat >"$STATE/config/$1.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $STATE/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $2
  secret: registry-fixture-not-a-secret
  headers:
    X-Content-Type-Options: [nosniff]
$3
$4
EOF
}

ours() { # pid: alive and still one of ours (its command line names the state dir)
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$STATE"
}

do_stop() {
  [ -f "$PIDFILE" ] || { log "no $PIDFILE: nothing to stop"; return 0; }
  local name pid alive
  while read -r name pid; do
    [ -n "${pid:-}" ] || continue
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null && log "stop: TERM $name ($pid)"
    else
      log "stop: $name ($pid) not running (or PID reused by something else: left alone)"
    fi
  done <"$PIDFILE"
  for _ in $(seq 1 50); do
    alive=0
    while read -r name pid; do
      if [ -n "${pid:-}" ] && ours "$pid"; then alive=1; fi
    done <"$PIDFILE"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r name pid; do
    if [ -n "${pid:-}" ] && ours "$pid"; then
      kill -KILL "$pid" 2>/dev/null && log "stop: KILL $name ($pid)"
    fi
  done <"$PIDFILE"
  rm -f "$PIDFILE"
}

do_status() {
  [ -f "$PIDFILE" ] || { echo "not running (no $PIDFILE)"; return 1; }
  local name pid rss
  while read -r name pid; do
    if [ -r "/proc/$pid/status" ]; then
      rss=$(awk '/VmRSS/{print $2" "$3}' "/proc/$pid/status")
      printf '%-10s pid %-8s alive  rss %s\n' "$name" "$pid" "$rss"
    else
      printf '%-10s pid %-8s DEAD\n' "$name" "$pid"
    fi
  done <"$PIDFILE"
}

do_start() {
  local t0 t1; t0=$(now)
  if [ -n "$(missing_pkgs)" ] || ! have_tools; then
    if [ "${REGFIX_AUTO_INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
      do_install
    elif ! have_tools; then
      die "missing tools; run (as root): $0 install"
    else
      log "warning: not installed: $(missing_pkgs | tr '\n' ' ')(the tools are on PATH; continuing)"
    fi
  fi
  have_tools || die "still missing a tool (docker-registry skopeo htpasswd openssl curl $PY)"
  if [ -f "$PIDFILE" ]; then die "already started ($PIDFILE exists); run: $0 stop"; fi
  log "using $(docker-registry --version 2>&1 | awk '{print $NF}') / skopeo $(skopeo --version | awk '{print $NF}') / $(openssl version | awk '{print $1" "$2}') / $("$PY" --version 2>&1)"
  if [ -e "$STATE" ] && [ ! -f "$MARKER" ]; then die "$STATE exists and is not a registry-fixture dir; refusing to wipe it"; fi
  "$PY" "$HELPERS/ports_free.py" "$BASE" "$NPORTS" || die "a port in $BASE..$((BASE + NPORTS - 1)) is in use; set REGFIX_PORT_BASE"
  rm -rf "$STATE"
  mkdir -p "$STATE"/{tls,storage,config,logs,certs.d}
  touch "$MARKER"
  write_helpers

  # --- TLS material: a CA, a server cert (SAN 127.0.0.1 + localhost) and a token-signing cert
  local T="$STATE/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" -days 3650 \
    -subj "/CN=nonroot-admission registry-fixture test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$T/server.ext"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
    -out "$T/server.crt" -days 825 -extfile "$T/server.ext" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/signer.key" -out "$T/signer.crt" -days 3650 \
    -subj "/CN=nonroot-admission registry-fixture token signer" 2>/dev/null
  cp "$T/ca.crt" "$STATE/certs.d/ca.crt"   # skopeo --cert-dir: only *.crt CAs in here
  htpasswd -Bbn "$RUSER" "$RPASS" >"$STATE/htpasswd" 2>/dev/null
  local AUTH; AUTH=$(printf '%s:%s' "$RUSER" "$RPASS" | base64 -w0)
  cat >"$STATE/docker-config.json" <<EOF
{"auths":{"127.0.0.1:$P_BASIC":{"auth":"$AUTH"},"127.0.0.1:$P_TOKEN":{"auth":"$AUTH"},"127.0.0.1:$P_REDIRECT":{"auth":"$AUTH"}}}
EOF

  # --- registry configs (all five share one storage root: push once, serve everywhere)
  local TLSY="  tls:
    certificate: $T/server.crt
    key: $T/server.key"
  local HTPW="auth:
  htpasswd:
    realm: registry-fixture
    path: $STATE/htpasswd"
  registry_config plain "127.0.0.1:$P_PLAIN" "" ""
  registry_config redirect "127.0.0.1:$P_REDIRECT" "$TLSY" "$HTPW
middleware:
  storage:
    - name: redirect
      options:
        baseurl: https://localhost:$P_BLOBHOST"
  registry_config basic "127.0.0.1:$P_BASIC" "$TLSY" "$HTPW"
  registry_config token "127.0.0.1:$P_TOKEN" "$TLSY" "auth:
  token:
    realm: https://127.0.0.1:$P_TOKENSRV/token
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $T/signer.crt"
  registry_config tls "127.0.0.1:$P_TLS" "$TLSY" ""

  : >"$PIDFILE"
  trap 'log "start failed; stopping what was started"; do_stop' ERR
  launch plain docker-registry serve "$STATE/config/plain.yml"
  launch redirect docker-registry serve "$STATE/config/redirect.yml"
  launch basic docker-registry serve "$STATE/config/basic.yml"
  launch token docker-registry serve "$STATE/config/token.yml"
  launch tls docker-registry serve "$STATE/config/tls.yml"
  launch tokensrv "$PY" "$STATE/bin/token_server.py" --listen "127.0.0.1:$P_TOKENSRV" --key "$T/signer.key" \
    --cert "$T/signer.crt" --tls-cert "$T/server.crt" --tls-key "$T/server.key" --issuer "$ISSUER" \
    --service "$SERVICE" --user "$RUSER" --password "$RPASS"
  launch blobhost "$PY" "$STATE/bin/blobhost.py" "$STATE/storage" "$P_BLOBHOST" "$T/server.crt" "$T/server.key"
  launch faults "$PY" "$STATE/bin/faultproxy.py" "$P_PLAIN" "$P_FAULTS" "$P_BLOBHOST"
  wait_http plain "http://127.0.0.1:$P_PLAIN/v2/"
  wait_http redirect "https://127.0.0.1:$P_REDIRECT/v2/" --cacert "$T/ca.crt"
  wait_http basic "https://127.0.0.1:$P_BASIC/v2/" --cacert "$T/ca.crt"
  wait_http token "https://127.0.0.1:$P_TOKEN/v2/" --cacert "$T/ca.crt"
  wait_http tls "https://127.0.0.1:$P_TLS/v2/" --cacert "$T/ca.crt"
  wait_http tokensrv "https://127.0.0.1:$P_TOKENSRV/token?service=$SERVICE" --cacert "$T/ca.crt"
  wait_http blobhost "https://localhost:$P_BLOBHOST/" --cacert "$T/ca.crt"
  wait_http faults "http://127.0.0.1:$P_FAULTS/_fault/stats"   # not counted
  t1=$(now); log "servers up: $(elapsed "$t0")s"

  # --- images: OCI layout written by python, pushed by skopeo (OCI and Docker v2s2 media types)
  "$PY" "$STATE/bin/gen_images.py" "$STATE/oci" >"$STATE/expected.json"
  local R="127.0.0.1:$P_PLAIN" tag f tags tag_list=()
  local SK=(skopeo --insecure-policy copy -q --dest-tls-verify=false)
  : >"$STATE/pushed.txt"
  tags=$("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$STATE/expected.json")
  mapfile -t tag_list <<<"$tags"
  for tag in "${tag_list[@]}"; do
    for f in oci v2s2; do
      [ "$tag" = user-1000-nomediatype ] && [ "$f" = v2s2 ] && continue
      if [ "$tag" = multiarch ]; then
        "${SK[@]}" --format "$f" --all "oci:$STATE/oci:$tag" "docker://$R/$f/users:$tag"
      else
        "${SK[@]}" --format "$f" "oci:$STATE/oci:$tag" "docker://$R/$f/users:$tag"
      fi
      echo "$f/users $tag $f $tag" >>"$STATE/pushed.txt"
    done
  done
  # reference-normalisation trap (library/ must NOT be added for non-docker.io hosts) + auth-only repo
  "${SK[@]}" --format v2s2 "oci:$STATE/oci:user-1000" "docker://$R/app:latest";            echo "app latest v2s2 user-1000" >>"$STATE/pushed.txt"
  "${SK[@]}" --format v2s2 "oci:$STATE/oci:user-0" "docker://$R/library/app:latest";       echo "library/app latest v2s2 user-0" >>"$STATE/pushed.txt"
  "${SK[@]}" --format oci "oci:$STATE/oci:user-1000" "docker://$R/private/users:user-1000"; echo "private/users user-1000 oci user-1000" >>"$STATE/pushed.txt"
  log "images pushed: $(elapsed "$t1")s"

  # --- fixtures.json: what is where (digest as served, media type, expected config.User)
  "$PY" "$HELPERS/write_fixtures.py" "$STATE" "$R"

  cat >"$STATE/env" <<EOF
REGFIX_DIR=$STATE
REGFIX_PLAIN_URL=http://127.0.0.1:$P_PLAIN
REGFIX_REDIRECT_URL=https://127.0.0.1:$P_REDIRECT
REGFIX_BLOBHOST_URL=https://localhost:$P_BLOBHOST
REGFIX_FAULTS_URL=http://127.0.0.1:$P_FAULTS
REGFIX_FAULTS_STATS_URL=http://127.0.0.1:$P_FAULTS/_fault/stats
REGFIX_BASIC_URL=https://127.0.0.1:$P_BASIC
REGFIX_TOKEN_URL=https://127.0.0.1:$P_TOKEN
REGFIX_TOKEN_REALM=https://127.0.0.1:$P_TOKENSRV/token
REGFIX_TOKEN_SERVICE=$SERVICE
REGFIX_TLS_URL=https://127.0.0.1:$P_TLS
REGFIX_CA_CERT=$T/ca.crt
REGFIX_DOCKER_CONFIG=$STATE/docker-config.json
REGFIX_USERNAME=$RUSER
REGFIX_PASSWORD=$RPASS
REGFIX_FIXTURES=$STATE/fixtures.json
EOF
  trap - ERR
  if [ "${REGFIX_VERIFY:-1}" = 1 ]; then
    local t2; t2=$(now)
    "$PY" "$STATE/bin/verify.py" "$STATE" || { log "verification failed (servers left running; '$0 stop' to stop)"; exit 1; }
    log "verify: $(elapsed "$t2")s"
  fi
  # the tests start from clean counters whatever ran before (readiness probes, verify)
  curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$P_FAULTS/_fault/reset"
  log "ready in $(elapsed "$t0")s total"
  cat <<EOF
plain     http://127.0.0.1:$P_PLAIN        anonymous, push allowed
redirect  https://127.0.0.1:$P_REDIRECT       TLS + htpasswd; blob GET/HEAD -> 307 https://localhost:$P_BLOBHOST (TLS, same CA; rejects Authorization)
faults    http://127.0.0.1:$P_FAULTS        /v2/fault/<kind>/<repo>/..., kinds: 429 500 502 503 504 flaky503 flaky429 slow hang basic401
                                     blob404 blob500 blobcorrupt blobtruncate garbage bigmanifest redirecthttp redirectloop redirectchallenge
                                     counters: GET /_fault/stats, GET /_fault/reset
basic     https://127.0.0.1:$P_BASIC       TLS (CA $T/ca.crt) + htpasswd $RUSER/$RPASS
token     https://127.0.0.1:$P_TOKEN       TLS + Bearer, realm https://127.0.0.1:$P_TOKENSRV/token service=$SERVICE (anonymous pull except private/*)
tls       https://127.0.0.1:$P_TLS       TLS (CA $T/ca.crt), anonymous
env       $STATE/env   fixtures $STATE/fixtures.json   docker config $STATE/docker-config.json   pids $PIDFILE
EOF
}

case "$CMD" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) cat "$STATE/env" ;;
  verify) "$PY" "$STATE/bin/verify.py" "$STATE" ;;
  *) echo "usage: $0 [install|start|verify|status|env|stop]" >&2; exit 2 ;;
esac
