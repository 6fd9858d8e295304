"""What the fixture's Python servers share: a threading HTTP/1.1 server with a deep accept backlog, and
TLS handshakes done in each connection's worker thread. Imported from the same directory (stdlib only)."""
import http.server, ssl


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # in the worker thread, never in accept()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops SYNs when many clients connect at once


def listen(handler, host, port, tls_cert=None, tls_key=None):
    """A server on host:port, serving TLS with tls_cert/tls_key when given; the caller runs serve_forever()."""
    srv = Server((host, port), handler)
    if tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_cert, tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    return srv
