"""Fault injection for `nonroot-admission serve`; run through scripts/faults.sh, which builds the server,
makes the certificates, starts the registry fixture and runs `python3 -m faults` with everything here.

harness.py holds the context, the server, the client loops, the checks and main(); each fault is a module
with run(ctx) -> Test, and starts its own server on 127.0.0.1 and client loops against it while the fault
happens:
  rotation  serving certificate replaced every second (kubelet-style ..data symlink swap)
  sigterm   SIGTERM under load: readyz, shutdown delay, stop accepting, in-flight answered, exit 0, log order
  registry  the registry killed, restarted, hanging, answering 429 and 500; --unresolved warn, then deny
  slowloris hundreds of idle TLS connections, raw TCP without handshake, headers trickled a byte a second,
            connections over --max-connections; a normal client measured meanwhile
  badinput  100 MiB bodies (Content-Length and chunked), 100,000-level nesting, a 50 MiB JSON string,
            bodies past --max-buffered-bytes; peak RSS before and after
  flood     maximum-size bodies of every JSON shape from 32 connections, an ordinary client meanwhile

Prints a Markdown table (one row per test) with the checks under it, then one JSON line. Exit status 1
when a check fails.
"""
