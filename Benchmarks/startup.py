#!/usr/bin/env python3
"""Milliseconds from starting a server process to its first successful TLS answer.

Usage: startup.py PORT CAFILE BODYFILE -- COMMAND...
Polls POST /validate over TLS every 2 ms; prints the milliseconds, then stops the process.
"""
import http.client, os, signal, ssl, subprocess, sys, time

port, ca, body_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
command = sys.argv[sys.argv.index("--") + 1:]
body = open(body_file, "rb").read()
context = ssl.create_default_context(cafile=ca)
start = time.monotonic()
process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while time.monotonic() - start < 10:
        try:
            connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=1)
            connection.request("POST", "/validate", body, {"content-type": "application/json"})
            if connection.getresponse().status == 200:
                print(f"{(time.monotonic() - start) * 1000:.1f}")
                break
        except (OSError, http.client.HTTPException):
            time.sleep(0.002)
    else:
        print("timeout")
finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
