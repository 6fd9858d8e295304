#!/usr/bin/env python3
"""Latency of ordinary reviews while worst-case reviews are in flight (issue 11: p99 under 20 ms).

Starts `nonroot-admission serve` with the shipped Deployment's limits (2 threads, 48 MiB budget),
then measures an ordinary 6.6 KB review with h2load (HTTP/1.1 keep-alive, 2 connections, closed loop)
twice: alone, and while HEAVY clients send the worst valid reviews (Benchmarks/worst-case/make-bodies.py:
3 MiB CREATEs, 6 MiB UPDATEs) back to back. Everything on 127.0.0.1.

Usage: heavy-latency.py BIN [--seconds 10] [--heavy 4]
Prints a Markdown table and, last, one JSON line. Exit 1 if ordinary p99 under load is 20 ms or more.
"""
import argparse, http.client, json, os, re, ssl, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))

def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)

def certs(work):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
       "-subj", "/CN=bench-ca", "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.pem")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
       "-keyout", f"{work}/tls.key", "-out", f"{work}/tls.csr")
    with open(f"{work}/ext.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", f"{work}/tls.csr", "-CA", f"{work}/ca.pem", "-CAkey", f"{work}/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", f"{work}/ext.cnf", "-out", f"{work}/tls.crt")

def percentiles(log_paths):
    durations, bad = [], 0
    for path in log_paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    durations.append(int(parts[2]) / 1000.0)
                    if int(parts[1]) != 200:
                        bad += 1
    durations.sort()
    pick = lambda p: durations[min(len(durations) - 1, int(p / 100.0 * len(durations)))] if durations else None
    return {"requests": len(durations), "non200": bad, "p50_ms": pick(50), "p99_ms": pick(99), "max_ms": durations[-1] if durations else None}

def ordinary(port, body, seconds, work, tag):
    log = f"{work}/h2load-{tag}.log"
    out = subprocess.run(["h2load", "--h1", "-c", "2", "-m", "1", "-D", str(seconds), "-d", body,
                          "-H", "content-type: application/json", "--log-file", log,
                          f"https://127.0.0.1:{port}/validate"], capture_output=True, text=True)
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", out.stdout)
    result = percentiles([log])
    result["failed"] = int(m.group(2)) + int(m.group(3)) if m else None
    return result

class Heavy(threading.Thread):
    def __init__(self, port, bodies, stop, context):
        super().__init__(daemon=True)
        self.port, self.bodies, self.stop, self.context = port, bodies, stop, context
        self.statuses, self.latencies = {}, []

    def run(self):
        i = 0
        conn = None
        while not self.stop.is_set():
            body = self.bodies[i % len(self.bodies)]
            i += 1
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
                t0 = time.monotonic()
                conn.request("POST", "/validate", body=body, headers={"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                self.latencies.append((time.monotonic() - t0) * 1000)
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                if resp.getheader("connection", "").lower() == "close":
                    conn.close(); conn = None
            except Exception as e:
                key = type(e).__name__
                self.statuses[key] = self.statuses.get(key, 0) + 1
                conn = None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--heavy", type=int, default=4)
    ap.add_argument("--port", type=int, default=19543)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nonroot-heavy.")
    certs(work)
    sh(sys.executable, f"{here}/worst-case/make-bodies.py", f"{work}/bodies")
    bodies = []
    for name in ("create-containers", "update-containers", "update-args", "create-args"):
        with open(f"{work}/bodies/{name}.json", "rb") as f:
            bodies.append(f.read())
    ordinary_body = f"{here}/Fixtures/realistic-pod-review.json"
    server = subprocess.Popen([args.bin, "serve", "--tls-cert-file", f"{work}/tls.crt", "--tls-key-file", f"{work}/tls.key",
                               "--images", f"{here}/Fixtures/images.yaml", "--listen", f"127.0.0.1:{args.port}",
                               "--metrics-listen", f"127.0.0.1:{args.port + 1}", "--threads", "2",
                               "--max-buffered-bytes", str(48 << 20), "--log-level", "warning"],
                              stderr=open(f"{work}/server.log", "w"))
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port + 1, timeout=1).request("GET", "/readyz")
                break
            except OSError:
                time.sleep(0.1)
        alone = ordinary(args.port, ordinary_body, args.seconds, work, "alone")
        context = ssl.create_default_context(cafile=f"{work}/ca.pem")
        stop = threading.Event()
        heavy = [Heavy(args.port, bodies[i % len(bodies):] + bodies[:i % len(bodies)], stop, context) for i in range(args.heavy)]
        for h in heavy: h.start()
        time.sleep(1)
        loaded = ordinary(args.port, ordinary_body, args.seconds, work, "loaded")
        stop.set()
        for h in heavy: h.join(timeout=30)
        statuses, lat = {}, []
        for h in heavy:
            lat += h.latencies
            for k, v in h.statuses.items(): statuses[str(k)] = statuses.get(str(k), 0) + v
        lat.sort()
        heavy_summary = {"answered": len(lat), "statuses": statuses,
                         "p50_ms": lat[len(lat) // 2] if lat else None, "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None}
        rss = None
        with open(f"/proc/{server.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"): rss = int(line.split()[1]) // 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
    f1 = lambda x: "-" if x is None else "%.2f" % x
    print("| ordinary review (6.6 KB, h2load --h1 -c 2) | requests | failed | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| alone | {alone['requests']} | {alone['failed']} | {f1(alone['p50_ms'])} | {f1(alone['p99_ms'])} | {f1(alone['max_ms'])} |")
    print(f"| with {args.heavy} clients sending worst-case reviews | {loaded['requests']} | {loaded['failed']} | {f1(loaded['p50_ms'])} | {f1(loaded['p99_ms'])} | {f1(loaded['max_ms'])} |")
    print()
    print(f"worst-case reviews answered meanwhile: {heavy_summary['answered']} (statuses {heavy_summary['statuses']}), "
          f"p50 {f1(heavy_summary['p50_ms'])} ms, p99 {f1(heavy_summary['p99_ms'])} ms; server peak RSS {rss} MiB")
    print(json.dumps({"alone": alone, "loaded": loaded, "heavy": heavy_summary, "peak_rss_mib": rss}))
    ok = loaded["p99_ms"] is not None and loaded["p99_ms"] < 20 and not loaded["failed"]
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()
