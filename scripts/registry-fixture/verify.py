#!/usr/bin/env python3
"""End-to-end checks of the fixture, written as a tiny reference client: Accept negotiation,
WWW-Authenticate (Basic / Bearer realm,service,scope), platform selection, digest verification,
cross-origin redirect without Authorization, error mapping, the fault proxy's kinds and counters.
stdlib only."""
import base64, hashlib, json, os, re, ssl, sys, threading, time, urllib.error, urllib.parse, urllib.request

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
