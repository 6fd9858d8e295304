#!/usr/bin/env python3
"""A stand-in for kube-apiserver's GET endpoints, for KubernetesAPITests. Loopback HTTPS only.

  fake-apiserver.py pki DIR
      Makes with openssl: ca.pem, server.pem/server.key (127.0.0.1, localhost) signed by it, and
      other-ca.pem, other-server.pem/other-server.key from an unrelated CA.
  fake-apiserver.py serve DIR CERT KEY
      Serves HTTPS on 127.0.0.1 (a free port, printed as the first line of stdout). Each request is
      appended to DIR/requests.jsonl as {"method","path","authorization","accept"}. Answers come from
      DIR/routes.json, read on every request: {"/path": {"status": 200, "body": <JSON or text>,
      "delay": seconds, "pad": bytes of padding appended inside the JSON, "chunked": true}}.
      Unrouted paths get the API server's 404 Status.
"""
import json, os, ssl, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def openssl(directory, *args):
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

def make_pki(directory):
    for ca, server in (("ca", "server"), ("other-ca", "other-server")):
        openssl(directory, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ca + ".key")
        openssl(directory, "req", "-x509", "-new", "-key", ca + ".key", "-sha256", "-days", "2", "-subj", "/CN=" + ca,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", ca + ".pem")
        with open(os.path.join(directory, server + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl(directory, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", server + ".key")
        openssl(directory, "req", "-new", "-key", server + ".key", "-subj", "/CN=kube-apiserver", "-out", server + ".csr")
        openssl(directory, "x509", "-req", "-in", server + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
                "-sha256", "-days", "2", "-extfile", server + ".ext", "-out", server + ".pem")

def not_found(path):
    name = path.rsplit("/", 1)[-1]
    kind = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": '%s "%s" not found' % (kind, name), "reason": "NotFound",
            "details": {"name": name, "kind": kind}, "code": 404}

def serve(directory, cert, key):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            with lock:
                with open(os.path.join(directory, "requests.jsonl"), "a") as f:
                    f.write(json.dumps({"method": "GET", "path": self.path,
                                        "authorization": self.headers.get("Authorization"),
                                        "accept": self.headers.get("Accept")}) + "\n")
                with open(os.path.join(directory, "routes.json")) as f:
                    routes = json.load(f)
            route = routes.get(self.path, {"status": 404, "body": not_found(self.path)})
            time.sleep(route.get("delay", 0))
            body = route.get("body", "")
            if not isinstance(body, str):
                if route.get("pad"):
                    body = dict(body, pad="x" * route["pad"])
                body = json.dumps(body, separators=(",", ":"))
            data = body.encode()
            self.send_response(route.get("status", 200))
            self.send_header("Content-Type", "application/json")
            if route.get("chunked"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(data), 65536):
                    chunk = data[start:start + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()

if __name__ == "__main__":
    if sys.argv[1] == "pki":
        make_pki(sys.argv[2])
    else:
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
