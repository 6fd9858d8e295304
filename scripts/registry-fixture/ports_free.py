#!/usr/bin/env python3
"""Fails (exit 1) when one of N ports from BASE on 127.0.0.1 has a listener. SO_REUSEADDR, as Go and
Python servers bind: TIME_WAIT leftovers are not "busy", a listener is.
usage: ports_free.py <base> <n>"""
import socket, sys
b, n = int(sys.argv[1]), int(sys.argv[2])
for p in range(b, b + n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        print("port %d busy" % p, file=sys.stderr); sys.exit(1)
    s.close()
