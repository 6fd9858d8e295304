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
import collections, http.client, json, os, re, sys, threading, time
from httpserve import Handler, listen
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

class H(Handler):
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

listen(H, "127.0.0.1", port).serve_forever()
