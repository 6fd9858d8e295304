#!/usr/bin/env bash
# registry-fixture.sh - the registry test-bed for nonroot-admission's registry tests.
#
# nonroot-admission resolves an image's config.User by talking to OCI registries. The tests of that
# client (manifest/index negotiation, platform selection, digest checks, Basic and Bearer auth, TLS with
# a custom CA, redirects, 429/5xx/timeouts, size caps, request coalescing) run against the real registries
# this script starts as plain processes on 127.0.0.1: Debian's docker-registry (CNCF distribution 2.8),
# plus small stdlib-only Python helpers (token server, S3-like blob host, fault-injecting proxy).
# No Docker engine and no image pulls: the test images are written by an embedded Python script
# (deterministic bytes, so the same digests on every run and machine) and pushed with skopeo.
# Self-contained: everything it runs is embedded below or comes from Debian packages.
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

# ---------------------------------------------------------------- embedded python scripts
write_helpers() {
  mkdir -p "$STATE/bin"
  cat >"$STATE/bin/gen_images.py" <<'PYEOF'
#!/usr/bin/env python3
"""Write an OCI image layout with tiny test images. Deterministic: same bytes, same digests."""
import gzip, hashlib, io, json, os, sys, tarfile

CREATED = "2024-01-01T00:00:00Z"
layout = sys.argv[1]
os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d

def js(o):
    return json.dumps(o, separators=(",", ":")).encode()

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
    body = b"hello from the registry fixture\n"
    ti = tarfile.TarInfo("hello.txt")
    ti.size, ti.mtime, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = len(body), 0, 0o644, 0, 0, "", ""
    tf.addfile(ti, io.BytesIO(body))
tar = raw.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as g:
    g.write(tar)
gz = gz.getvalue()
DIFF_ID = "sha256:" + hashlib.sha256(tar).hexdigest()
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)}

def image(user, arch="amd64", variant=None, layers=True, config_section=True, media_type_field=True):
    cfg = {"created": CREATED, "architecture": arch, "os": "linux"}
    if variant:
        cfg["variant"] = variant
    if config_section:
        cfg["config"] = {} if user is None else {"User": user}
        cfg["config"]["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    cfg["rootfs"] = {"type": "layers", "diff_ids": [DIFF_ID] if layers else []}
    cfg["history"] = [{"created": CREATED, "created_by": "registry-fixture gen_images.py"}]
    cb = js(cfg)
    man = {"schemaVersion": 2}
    if media_type_field:
        man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    man["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cb), "size": len(cb)}
    man["layers"] = [LAYER] if layers else []
    mb = js(man)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mb), "size": len(mb)}

# tag -> expected config.User (None: key absent)
CASES = {"user-unset": None, "user-empty": "", "user-0": "0", "user-root": "root", "user-1000": "1000",
         "user-1000-1000": "1000:1000", "user-app": "app", "user-app-app": "app:app", "user-0-0": "0:0",
         "user-65532": "65532", "user-64198": "64198"}
refs, expected = [], {}

def tag(name, desc, exp):
    d = dict(desc)
    d["annotations"] = {"org.opencontainers.image.ref.name": name}
    refs.append(d)
    expected[name] = exp

for name, user in CASES.items():
    tag(name, image(user), user)
tag("no-config-section", image(None, config_section=False), None)   # no "config" object at all
tag("zero-layers", image("1000", layers=False), "1000")              # layers: []
tag("user-1000-nomediatype", image("1000", media_type_field=False), "1000")  # manifest without mediaType field
amd, arm = image("1000", "amd64"), image("0", "arm64", "v8")
amd["platform"] = {"architecture": "amd64", "os": "linux"}
arm["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
ib = js({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd, arm]})
tag("multiarch", {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(ib), "size": len(ib)},
    {"linux/amd64": "1000", "linux/arm64/v8": "0"})
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(layout, "index.json"), "wb") as f:
    f.write(js({"schemaVersion": 2, "manifests": refs}))
json.dump(expected, sys.stdout)
PYEOF

  cat >"$STATE/bin/token_server.py" <<'PYEOF'
#!/usr/bin/env python3
"""Minimal token server for distribution's `auth: token` (the Docker Hub flow). stdlib only;
JWTs are RS256-signed by `openssl dgst -sha256 -sign`. Header carries the libtrust `kid` of the
signing cert, which the registry trusts through `rootcertbundle`.
Policy: anonymous -> pull on every repository except private/*; valid basic creds -> pull,push,delete
on everything + registry:catalog:*; wrong creds -> 401."""
import argparse, base64, hashlib, http.server, json, ssl, subprocess, sys, time, uuid
from urllib.parse import urlparse, parse_qs

ap = argparse.ArgumentParser()
for o in ("--listen", "--key", "--cert", "--tls-cert", "--tls-key", "--issuer", "--service", "--user", "--password"):
    ap.add_argument(o)
ap.add_argument("--ttl", type=int, default=300)
a = ap.parse_args()

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def run(args, data=None):
    return subprocess.run(args, input=data, check=True, capture_output=True).stdout

# libtrust key id: base32(sha256(DER SubjectPublicKeyInfo)[:30]) as 12 groups of 4 joined by ':'
der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], run(["openssl", "x509", "-in", a.cert, "-noout", "-pubkey"]))
s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
KID = ":".join(s[i:i + 4] for i in range(0, len(s), 4))

def sign(claims):
    h = {"typ": "JWT", "alg": "RS256", "kid": KID}
    si = b64url(json.dumps(h, separators=(",", ":")).encode()) + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
    return si + "." + b64url(run(["openssl", "dgst", "-sha256", "-sign", a.key], si.encode()))

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # in the worker thread, never in accept()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s token-server %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "only GET /token"}]})
        q = parse_qs(u.query)
        account, authed = "", False
        auth = self.headers.get("Authorization", "")
        if auth:
            user = pw = None
            if auth.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                except Exception:
                    pass
            if user != a.user or pw != a.password:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]},
                                  {"WWW-Authenticate": 'Basic realm="regfix-token"'})
            account, authed = user, True
        if q.get("service", [a.service])[0] != a.service:
            return self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
        access = []
        for param in q.get("scope", []):
            for scope in param.split(" "):
                parts = scope.split(":")
                if len(parts) < 3:
                    continue
                typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
                if typ == "repository":
                    allowed = {"pull", "push", "delete", "*"} if authed else (set() if name.startswith("private/") else {"pull"})
                elif typ == "registry" and name == "catalog":
                    allowed = {"*"} if authed else set()
                else:
                    allowed = set()
                access.append({"type": typ, "name": name, "actions": [x for x in actions if x in allowed]})
        t = int(time.time())
        # distribution 2.8 wants "aud" as a plain string (not a list)
        tok = sign({"iss": a.issuer, "sub": account, "aud": a.service, "exp": t + a.ttl, "nbf": t - 10,
                    "iat": t, "jti": uuid.uuid4().hex, "access": access})
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": a.ttl,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))})

    do_HEAD = do_GET

host, port = a.listen.rsplit(":", 1)
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops SYNs under concurrent token fetches

srv = Server((host, int(port)), H)
if a.tls_cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.tls_cert, a.tls_key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
sys.stderr.write("token-server on %s kid=%s\n" % (a.listen, KID))
sys.stderr.flush()
srv.serve_forever()
PYEOF

  cat >"$STATE/bin/blobhost.py" <<'PYEOF'
#!/usr/bin/env python3
"""Redirect target for the 'redirect' registry (like S3/CDN presigned URLs): serves
/docker/registry/v2/blobs/sha256/xx/<hex>/data from the registry storage root and answers
400 if the request carries an Authorization header (as S3 does), so a client that leaks
registry credentials across the redirect fails loudly. Serves TLS with the given cert/key.
usage: blobhost.py <storage-root> <port> <tls-cert> <tls-key>"""
import http.server, os, re, ssl, sys, time
root, port, tls_cert, tls_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
PAT = re.compile(r"^/docker/registry/v2/blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}/data$")

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # in the worker thread, never in accept()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s blobhost %s auth=%s\n" % (time.strftime("%H:%M:%S"), fmt % args, "Authorization" in self.headers))

    def send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/_challenge":  # the fault proxy's redirectchallenge lands here
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="https://localhost:%d/_realm",service="blobhost"' % port)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if "Authorization" in self.headers:
            return self.send(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed"
                                  b"</Message></Error>", "application/xml")
        f = os.path.join(root, path.lstrip("/"))
        if not PAT.match(path) or not os.path.isfile(f):
            return self.send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        with open(f, "rb") as fh:
            self.send(200, fh.read(), "application/octet-stream")

    do_HEAD = do_GET

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops SYNs under concurrent tests

srv = Server(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(tls_cert, tls_key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
srv.serve_forever()
PYEOF

  cat >"$STATE/bin/faultproxy.py" <<'PYEOF'
#!/usr/bin/env python3
"""Fault-injecting front for the plain registry. /v2/fault/<kind>/<repo>/... is answered according
to <kind>, else forwarded to upstream as /v2/<repo>/...; every other path is forwarded unchanged.
kinds: 429 (Retry-After: 1), 500, 502 (HTML body), 503 (Retry-After: 1), 504 (HTML),
flaky503 / flaky429 (first request per method+path fails, later ones pass),
slow (sleep SLOW s then forward), hang (sleep HANG s, close without answering),
blob404 / blob500 (only blob requests fail), blobcorrupt (blob body altered, headers unchanged),
blobtruncate (Content-Length says N, half is sent, connection closed),
garbage (manifest requests: 200, OCI manifest Content-Type, body '<html>not a manifest</html>'),
bigmanifest (manifest requests: 200, OCI manifest Content-Type, 5 MiB body, declared and sent),
redirecthttp (manifest requests: 307 to http://127.0.0.1:<plain>/v2/<repo>/manifests/<ref>),
redirectloop (every request: 307 to the very same URL, forever),
basic401 (every request: 401 with WWW-Authenticate: Basic, as a registry asking for credentials over plain HTTP),
redirectchallenge (manifest requests: 307 to https://localhost:<blobhost>/_challenge, which answers 401 with a
Bearer challenge whose realm is the blob host: a client must not answer a challenge from a hop it was redirected to).
Kinds that name manifests forward blob requests unchanged.
Every request is counted by (method, raw request path as sent, query included):
GET /_fault/stats -> {"requests":[{"method":..,"path":..,"count":N},...]};
GET /_fault/reset clears the counters and the flaky memory. Neither of the two is counted."""
import collections, http.client, http.server, json, os, re, sys, threading, time
upstream_port, port = int(sys.argv[1]), int(sys.argv[2])
blobhost_port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
SLOW = float(os.environ.get("REGFIX_SLOW_SECONDS", "5"))
HANG = float(os.environ.get("REGFIX_HANG_SECONDS", "30"))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
GARBAGE = b"<html>not a manifest</html>"
BIG_SIZE = 5 * 1024 * 1024
_head = ('{"schemaVersion":2,"mediaType":"%s","annotations":{"padding":"' % OCI_MANIFEST).encode()
_tail = b'"}}'
BIG_BODY = _head + b"x" * (BIG_SIZE - len(_head) - len(_tail)) + _tail
assert len(BIG_BODY) == BIG_SIZE
CONTROL = ("/_fault/stats", "/_fault/reset")
seen, counts, lock = set(), collections.Counter(), threading.Lock()
FAULT = re.compile(r"^/v2/fault/([a-z0-9]+)/(.+)$")

def err(code, message):
    return json.dumps({"errors": [{"code": code, "message": message + " (injected by registry-fixture)"}]}).encode()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def log_message(self, fmt, *args):
        sys.stderr.write("%s faults %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def parse_request(self):
        # Count every request that parses (any method), before it is answered, so a test that
        # reads /_fault/stats after its response always sees it.
        if not super().parse_request():
            return False
        if self.path.split("?", 1)[0] not in CONTROL:
            with lock:
                counts[(self.command, self.path)] += 1
        return True

    def answer(self, code, body, ctype="application/json", extra=None, declared=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])

    def forward(self, path, mutate=None, truncate=False):
        c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        try:
            c.request(self.command, path, headers=hdrs)
            r = c.getresponse()
            body = r.read()  # empty for HEAD: http.client knows the request method
        except OSError as e:
            c.close()
            return self.answer(502, err("UNAVAILABLE", "upstream registry: %s" % e))
        if mutate and r.status == 200:
            body = mutate(body)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                self.send_header(k, v)
        declared = int(r.getheader("Content-Length", len(body))) if self.command == "HEAD" else len(body)
        self.send_header("Content-Length", str(declared))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        if truncate:
            self.close_connection = True
        c.close()

    def do_GET(self):
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # client gave up (size caps, timeouts): expected

    do_HEAD = do_GET

    def dispatch(self):
        bare = self.path.split("?", 1)[0]
        if bare == "/_fault/reset":
            with lock:
                seen.clear()
                counts.clear()
            return self.answer(200, b"{}")
        if bare == "/_fault/stats":
            with lock:
                rows = [{"method": m, "path": p, "count": n} for (m, p), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
            return self.answer(200, json.dumps({"requests": rows}).encode())
        m = FAULT.match(self.path)
        if not m:
            return self.forward(self.path)
        kind, rest = m.group(1), "/v2/" + m.group(2)
        is_blob = "/blobs/" in rest
        is_manifest = "/manifests/" in rest
        if kind == "basic401":
            return self.answer(401, err("UNAUTHORIZED", "authentication required"), extra={"WWW-Authenticate": 'Basic realm="registry-fixture"'})
        if kind == "429":
            return self.answer(429, err("TOOMANYREQUESTS", "rate limit exceeded"), extra={"Retry-After": "1"})
        if kind in ("500", "blob500") and (kind == "500" or is_blob):
            return self.answer(500, err("UNKNOWN", "internal error"))
        if kind in ("502", "504"):
            return self.answer(int(kind), b"<html><body>gateway error</body></html>", "text/html")
        if kind == "503":
            return self.answer(503, err("UNAVAILABLE", "service unavailable"), extra={"Retry-After": "1"})
        if kind == "blob404" and is_blob:
            return self.answer(404, err("BLOB_UNKNOWN", "blob unknown to registry"))
        if kind == "garbage" and is_manifest:
            return self.answer(200, GARBAGE, OCI_MANIFEST)
        if kind == "bigmanifest" and is_manifest:
            return self.answer(200, BIG_BODY, OCI_MANIFEST)
        if kind == "redirectchallenge" and is_manifest:
            return self.answer(307, b"", "text/plain", extra={"Location": "https://localhost:%d/_challenge" % blobhost_port})
        if kind == "redirecthttp" and is_manifest:
            return self.answer(307, b"", "text/plain", extra={"Location": "http://127.0.0.1:%d%s" % (upstream_port, rest)})
        if kind == "redirectloop":
            host = self.headers.get("Host") or "127.0.0.1:%d" % port
            return self.answer(307, b"", "text/plain", extra={"Location": "http://%s%s" % (host, self.path)})
        if kind in ("flaky503", "flaky429"):
            key = (self.command, self.path)
            with lock:
                first = key not in seen
                seen.add(key)
            if first:
                if kind == "flaky429":
                    return self.answer(429, err("TOOMANYREQUESTS", "rate limit exceeded"), extra={"Retry-After": "0"})
                return self.answer(503, err("UNAVAILABLE", "service unavailable"), extra={"Retry-After": "0"})
        if kind == "slow":
            time.sleep(SLOW)
        if kind == "hang":
            time.sleep(HANG)
            self.close_connection = True
            return
        if kind == "blobcorrupt" and is_blob:
            def mutate(b):
                try:
                    o = json.loads(b)
                    o.setdefault("config", {})["User"] = "0"
                    return json.dumps(o).encode()
                except Exception:
                    return b[:-1] + bytes([b[-1] ^ 1]) if b else b"x"
            return self.forward(rest, mutate=mutate)
        if kind == "blobtruncate" and is_blob:
            return self.forward(rest, truncate=True)
        return self.forward(rest)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops SYNs when 100 clients connect at once

Server(("127.0.0.1", port), H).serve_forever()
PYEOF

  cat >"$STATE/bin/verify.py" <<'PYEOF'
#!/usr/bin/env python3
"""End-to-end checks of the fixture, written as a tiny reference client: Accept negotiation,
WWW-Authenticate (Basic / Bearer realm,service,scope), platform selection, digest verification,
cross-origin redirect without Authorization, error mapping, the fault proxy's kinds and counters.
stdlib only."""
import base64, hashlib, json, os, re, socket, ssl, sys, threading, time, urllib.error, urllib.parse, urllib.request

env = {}
for line in open(os.path.join(sys.argv[1], "env")):
    k, _, v = line.strip().partition("=")
    env[k] = v.strip("'\"")
fixtures = json.load(open(os.path.join(sys.argv[1], "fixtures.json")))
CTX = ssl.create_default_context(cafile=env["REGFIX_CA_CERT"])
CREDS = (env["REGFIX_USERNAME"], env["REGFIX_PASSWORD"])
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None

OPENER = urllib.request.build_opener(urllib.request.HTTPSHandler(context=CTX), NoRedirect())

def http(method, url, headers=None, timeout=10):
    """One request, no automatic redirects. Returns (status, headers, body)."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def parse_challenge(h):
    scheme, _, rest = h.partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))

class Client:
    def __init__(self, base, creds=None):
        self.base, self.creds, self.auth = base.rstrip("/"), creds, None
        self.origin = urllib.parse.urlsplit(self.base)[:2]

    def get(self, path, headers=None, hops=5):
        url = self.base + path
        for attempt in range(2):
            h = dict(headers or {})
            if self.auth:
                h["Authorization"] = self.auth
            st, hd, body = http("GET", url, h)
            if st != 401 or attempt:
                break
            scheme, p = parse_challenge(hd.get("WWW-Authenticate", ""))
            if scheme == "basic" and self.creds:
                self.auth = "Basic " + base64.b64encode(("%s:%s" % self.creds).encode()).decode()
            elif scheme == "bearer":
                q = {"service": p.get("service", "")}
                if "scope" in p:
                    q["scope"] = p["scope"]
                th = {}
                if self.creds:
                    th["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % self.creds).encode()).decode()
                ts, _, tb = http("GET", p["realm"] + "?" + urllib.parse.urlencode(q), th)
                if ts != 200:
                    raise RuntimeError("token server said %d" % ts)
                tj = json.loads(tb)
                self.auth = "Bearer " + (tj.get("token") or tj.get("access_token"))
            else:
                break
        while st in (301, 302, 303, 307, 308) and hops:
            url = urllib.parse.urljoin(url, hd["Location"])
            same = urllib.parse.urlsplit(url)[:2] == self.origin
            h = dict(headers or {})
            if same and self.auth:
                h["Authorization"] = self.auth  # never send registry credentials to another origin
            st, hd, body = http("GET", url, h)
            hops -= 1
        return st, hd, body

def resolve_user(base, repo, ref, platform=("linux", "amd64", None), creds=None):
    c = Client(base, creds)
    st, hd, body = c.get("/v2/%s/manifests/%s" % (repo, ref), {"Accept": ACCEPT})
    if st != 200:
        raise RuntimeError("manifest GET %d %s" % (st, body[:200]))
    if ref.startswith("sha256:") and "sha256:" + hashlib.sha256(body).hexdigest() != ref:
        raise RuntimeError("manifest digest mismatch")
    ctype = hd.get("Content-Type", "").split(";")[0].strip()
    m = json.loads(body)
    if ctype in INDEX_TYPES:
        os_, arch, var = platform
        cands = [d for d in m["manifests"] if d.get("platform", {}).get("os") == os_
                 and d.get("platform", {}).get("architecture") == arch
                 and (var is None or d["platform"].get("variant") == var)]
        if not cands:
            raise RuntimeError("no manifest for platform %s" % (platform,))
        return resolve_user(base, repo, cands[0]["digest"], platform, creds)
    cd = m["config"]["digest"]
    st, hd, cb = c.get("/v2/%s/blobs/%s" % (repo, cd))
    if st != 200:
        raise RuntimeError("config GET %d %s" % (st, cb[:200]))
    if "sha256:" + hashlib.sha256(cb).hexdigest() != cd:
        raise RuntimeError("config digest mismatch")
    cfg = json.loads(cb)
    return (cfg.get("config") or {}).get("User")

ok = bad = 0
def check(name, fn, want):
    global ok, bad
    try:
        got = fn()
    except Exception as e:  # noqa
        got = "EXC %s: %s" % (type(e).__name__, e)
    if got == want or (callable(want) and want(got)):
        ok += 1
    else:
        bad += 1
        print("FAIL %-60s got=%r want=%r" % (name, got, want))

def expect_exc(substr):
    return lambda got: isinstance(got, str) and got.startswith("EXC") and substr in got

PLAIN, REDIR, FAULTS = env["REGFIX_PLAIN_URL"], env["REGFIX_REDIRECT_URL"], env["REGFIX_FAULTS_URL"]
BASIC, TOKEN, TLS = env["REGFIX_BASIC_URL"], env["REGFIX_TOKEN_URL"], env["REGFIX_TLS_URL"]
STATS = env["REGFIX_FAULTS_STATS_URL"]

# 1. every fixture on the plain registry, by tag and by digest
for f in fixtures:
    if isinstance(f["user"], dict):
        for plat, u in f["user"].items():
            p = plat.split("/") + [None]
            check("plain %s:%s %s" % (f["repo"], f["tag"], plat),
                  lambda p=p: resolve_user(PLAIN, f["repo"], f["tag"], (p[0], p[1], p[2])), u)
    else:
        check("plain %s:%s" % (f["repo"], f["tag"]), lambda f=f: resolve_user(PLAIN, f["repo"], f["tag"]), f["user"])
        check("plain %s@%s" % (f["repo"], f["digest"][:19]), lambda f=f: resolve_user(PLAIN, f["repo"], f["digest"]), f["user"])
    check("content-type %s:%s" % (f["repo"], f["tag"]),
          lambda f=f: http("GET", "%s/v2/%s/manifests/%s" % (PLAIN, f["repo"], f["tag"]), {"Accept": ACCEPT})[1]["Content-Type"],
          f["mediaType"])
# Accept pitfalls: no Accept -> schema1 for Docker images, 404 for OCI ones
check("no Accept on v2s2 -> schema1", lambda: http("GET", PLAIN + "/v2/v2s2/users/manifests/user-1000")[1]["Content-Type"],
      "application/vnd.docker.distribution.manifest.v1+prettyjws")
check("no Accept on oci -> 404", lambda: http("GET", PLAIN + "/v2/oci/users/manifests/user-1000")[0], 404)
check("unknown tag -> 404", lambda: http("GET", PLAIN + "/v2/oci/users/manifests/nope", {"Accept": ACCEPT})[0], 404)
check("unknown blob -> 404", lambda: http("GET", PLAIN + "/v2/oci/users/blobs/sha256:" + "0" * 64)[0], 404)
check("malformed digest -> 500", lambda: http("GET", PLAIN + "/v2/oci/users/manifests/sha256:abc", {"Accept": ACCEPT})[0], 500)

# 2. TLS + htpasswd
check("basic: no creds -> 401 Basic", lambda: parse_challenge(http("GET", BASIC + "/v2/")[1]["WWW-Authenticate"])[0], "basic")
check("basic: with creds", lambda: resolve_user(BASIC, "oci/users", "user-app-app", creds=CREDS), "app:app")
check("basic: wrong creds", lambda: resolve_user(BASIC, "oci/users", "user-app", creds=("testuser", "wrong")), expect_exc("401"))

# 3. TLS + bearer token
check("token: challenge", lambda: parse_challenge(http("GET", TOKEN + "/v2/oci/users/manifests/user-0")[1]["WWW-Authenticate"]),
      ("bearer", {"realm": env["REGFIX_TOKEN_REALM"], "service": env["REGFIX_TOKEN_SERVICE"], "scope": "repository:oci/users:pull"}))
check("token: anonymous public", lambda: resolve_user(TOKEN, "v2s2/users", "multiarch", ("linux", "arm64", None)), "0")
check("token: anonymous private -> 401", lambda: resolve_user(TOKEN, "private/users", "user-1000"), expect_exc("401"))
check("token: creds private", lambda: resolve_user(TOKEN, "private/users", "user-1000", creds=CREDS), "1000")
check("token: wrong creds", lambda: resolve_user(TOKEN, "oci/users", "user-0", creds=("testuser", "x")), expect_exc("token server said 401"))

# 4. anonymous TLS (custom CA, no auth)
check("tls: /v2/ anonymous -> 200", lambda: http("GET", TLS + "/v2/")[0], 200)
check("tls: oci/users:user-1000", lambda: resolve_user(TLS, "oci/users", "user-1000"), "1000")
check("tls: v2s2/users:multiarch arm64", lambda: resolve_user(TLS, "v2s2/users", "multiarch", ("linux", "arm64", "v8")), "0")
check("tls: without the CA -> verify failure", lambda: urllib.request.urlopen(TLS + "/v2/", timeout=10).status,
      expect_exc("CERTIFICATE_VERIFY_FAILED"))
check("tls: plain http to the TLS port -> 400", lambda: http("GET", TLS.replace("https://", "http://") + "/v2/")[0], 400)

# 5. redirect on blob GET (basic auth registry; blob host rejects Authorization)
check("redirect: 307 to other origin", lambda: (lambda r: (r[0], urllib.parse.urlsplit(r[1]["Location"])[:2]))(
    http("GET", REDIR + "/v2/oci/users/blobs/" + fixtures[0]["config"],
         {"Authorization": "Basic " + base64.b64encode(("%s:%s" % CREDS).encode()).decode()})),
      (307, urllib.parse.urlsplit(env["REGFIX_BLOBHOST_URL"])[:2]))
check("redirect: plain http to the TLS port -> 400", lambda: http("GET", REDIR.replace("https://", "http://") + "/v2/")[0], 400)
check("redirect: resolve", lambda: resolve_user(REDIR, "oci/users", "user-65532", creds=CREDS), "65532")
check("redirect: leaked Authorization -> 400", lambda: http("GET", env["REGFIX_BLOBHOST_URL"] + "/x", {"Authorization": "Basic eA=="})[0], 400)

# 6. faults
F = "/v2/fault/%s/oci/users/manifests/user-1000"
check("fault 429", lambda: (lambda r: (r[0], r[1]["Retry-After"]))(http("GET", FAULTS + F % "429", {"Accept": ACCEPT})), (429, "1"))
check("fault 503", lambda: http("GET", FAULTS + F % "503", {"Accept": ACCEPT})[0], 503)
http("GET", FAULTS + "/_fault/reset")
check("fault flaky503 1st", lambda: http("GET", FAULTS + F % "flaky503", {"Accept": ACCEPT})[0], 503)
check("fault flaky503 2nd", lambda: http("GET", FAULTS + F % "flaky503", {"Accept": ACCEPT})[0], 200)
check("fault passthrough", lambda: resolve_user(FAULTS, "oci/users", "user-64198"), "64198")
check("fault blob404", lambda: resolve_user(FAULTS, "fault/blob404/oci/users", "user-0"), expect_exc("config GET 404"))
check("fault blobcorrupt", lambda: resolve_user(FAULTS, "fault/blobcorrupt/oci/users", "user-1000"), expect_exc("digest mismatch"))
check("fault blobtruncate", lambda: resolve_user(FAULTS, "fault/blobtruncate/oci/users", "user-1000"), expect_exc("Incomplete"))
check("fault garbage", lambda: (lambda r: (r[0], r[1]["Content-Type"], r[2]))(http("GET", FAULTS + F % "garbage", {"Accept": ACCEPT})),
      (200, "application/vnd.oci.image.manifest.v1+json", b"<html>not a manifest</html>"))
check("fault garbage is not JSON", lambda: resolve_user(FAULTS, "fault/garbage/oci/users", "user-1000"), expect_exc("JSONDecodeError"))
check("fault bigmanifest HEAD declares 5 MiB", lambda: (lambda r: (r[0], r[1]["Content-Type"], r[1]["Content-Length"], r[2]))(
    http("HEAD", FAULTS + F % "bigmanifest", {"Accept": ACCEPT})), (200, "application/vnd.oci.image.manifest.v1+json", "5242880", b""))
check("fault bigmanifest GET sends 5 MiB", lambda: (lambda r: (r[1]["Content-Length"], len(r[2])))(
    http("GET", FAULTS + F % "bigmanifest", {"Accept": ACCEPT})), ("5242880", 5242880))
check("fault redirecthttp -> 307 to plain", lambda: (lambda r: (r[0], r[1]["Location"]))(http("GET", FAULTS + F % "redirecthttp", {"Accept": ACCEPT})),
      (307, PLAIN + "/v2/oci/users/manifests/user-1000"))
check("fault redirecthttp followed", lambda: resolve_user(FAULTS, "fault/redirecthttp/oci/users", "user-1000"), "1000")
check("fault redirectloop -> 307 to itself", lambda: (lambda r: (r[0], r[1]["Location"]))(http("GET", FAULTS + F % "redirectloop", {"Accept": ACCEPT})),
      (307, FAULTS + F % "redirectloop"))
check("fault redirectloop never ends", lambda: resolve_user(FAULTS, "fault/redirectloop/oci/users", "user-1000"), expect_exc("manifest GET 307"))
t0 = time.time()
check("fault slow -> client timeout", lambda: http("GET", FAULTS + F % "slow", {"Accept": ACCEPT}, timeout=1),
      lambda got: isinstance(got, str) and "timed out" in got)
check("timeout took ~1s", lambda: round(time.time() - t0), 1)

# 7. request counters of the fault proxy
def stats():
    st, _, body = http("GET", STATS)
    if st != 200:
        raise RuntimeError("stats said %d" % st)
    return {(r["method"], r["path"]): r["count"] for r in json.loads(body)["requests"]}

M = "/v2/oci/users/manifests/user-1000"
check("stats: reset", lambda: http("GET", FAULTS + "/_fault/reset")[0], 200)
check("stats: empty after reset", lambda: json.loads(http("GET", STATS)[2]), {"requests": []})
http("GET", FAULTS + M, {"Accept": ACCEPT})
http("HEAD", FAULTS + M, {"Accept": ACCEPT})
http("HEAD", FAULTS + M, {"Accept": ACCEPT})
http("GET", FAULTS + F % "429")
check("stats: counts GET, HEAD and raw fault paths; not itself", stats,
      {("GET", M): 1, ("HEAD", M): 2, ("GET", F % "429"): 1})
check("stats: HEAD forwarded with digest and no body", lambda: (lambda r: (r[0], r[1]["Docker-Content-Digest"][:7], r[2]))(
    http("HEAD", FAULTS + M, {"Accept": ACCEPT})), (200, "sha256:", b""))
http("GET", FAULTS + "/_fault/reset")
results, rlock = [], threading.Lock()
def one():
    try:
        st = http("GET", FAULTS + M, {"Accept": ACCEPT}, timeout=20)[0]
    except Exception as e:  # noqa
        st = repr(e)
    with rlock:
        results.append(st)
threads = [threading.Thread(target=one) for _ in range(100)]
t0 = time.time()
for t in threads:
    t.start()
for t in threads:
    t.join()
check("stats: 100 concurrent GETs all 200", lambda: sorted(set(map(str, results))), ["200"])
check("stats: 100 concurrent GETs counted", lambda: stats(), {("GET", M): 100})
check("stats: 100 concurrent GETs took < 5s", lambda: time.time() - t0 < 5, True)
http("GET", FAULTS + "/_fault/reset")  # leave the counters clean for the tests
print("verify: %d checks ok, %d failed" % (ok, bad))
sys.exit(1 if bad else 0)
PYEOF
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
  # SO_REUSEADDR, as Go and Python servers bind: TIME_WAIT leftovers are not "busy", a listener is.
  "$PY" - "$BASE" "$NPORTS" <<'PYEOF' || die "a port in $BASE..$((BASE + NPORTS - 1)) is in use; set REGFIX_PORT_BASE"
import socket, sys
b, n = int(sys.argv[1]), int(sys.argv[2])
for p in range(b, b + n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        print("port %d busy" % p, file=sys.stderr); sys.exit(1)
    s.close()
PYEOF
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
  "$PY" - "$STATE" "$R" <<'PYEOF'
import json, sys, urllib.request
state, reg = sys.argv[1], sys.argv[2]
exp = json.load(open(state + "/expected.json"))
ACCEPT = ("application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
out = []
for line in open(state + "/pushed.txt"):
    repo, tag, fmt, case = line.split()
    r = urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/%s" % (reg, repo, tag), headers={"Accept": ACCEPT}))
    m = json.loads(r.read())
    out.append({"repo": repo, "tag": tag, "format": fmt, "case": case,
                "reference": "%s/%s:%s" % (reg, repo, tag),
                "digest": r.headers["Docker-Content-Digest"], "mediaType": r.headers["Content-Type"],
                "config": m.get("config", {}).get("digest"), "user": exp[case]})
json.dump(out, open(state + "/fixtures.json", "w"), indent=1)
PYEOF

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
