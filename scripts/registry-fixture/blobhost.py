#!/usr/bin/env python3
"""Redirect target for the 'redirect' registry (like S3/CDN presigned URLs): serves
/docker/registry/v2/blobs/sha256/xx/<hex>/data from the registry storage root and answers
400 if the request carries an Authorization header (as S3 does), so a client that leaks
registry credentials across the redirect fails loudly. Serves TLS with the given cert/key.
usage: blobhost.py <storage-root> <port> <tls-cert> <tls-key>"""
import os, re, sys, time
from httpserve import Handler, listen
root, port, tls_cert, tls_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
PAT = re.compile(r"^/docker/registry/v2/blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}/data$")

class H(Handler):

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

listen(H, "127.0.0.1", port, tls_cert, tls_key).serve_forever()
