#!/usr/bin/env python3
"""Minimal token server for distribution's `auth: token` (the Docker Hub flow). stdlib only;
JWTs are RS256-signed by `openssl dgst -sha256 -sign`. Header carries the libtrust `kid` of the
signing cert, which the registry trusts through `rootcertbundle`.
Policy: anonymous -> pull on every repository except private/*; valid basic creds -> pull,push,delete
on everything + registry:catalog:*; wrong creds -> 401."""
import argparse, base64, hashlib, json, subprocess, sys, time, uuid
from httpserve import Handler, listen
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

class H(Handler):

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
srv = listen(H, host, int(port), a.tls_cert, a.tls_key)
sys.stderr.write("token-server on %s kid=%s\n" % (a.listen, KID))
sys.stderr.flush()
srv.serve_forever()
