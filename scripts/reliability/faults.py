#!/usr/bin/env python3
"""Fault injection for `nonroot-admission serve`; run through scripts/faults.sh, which builds the server,
makes the certificates, starts the registry fixture and passes everything here.

Tests (each starts its own server on 127.0.0.1 and runs client loops against it while the fault happens):
  rotation  serving certificate replaced every second (kubelet-style ..data symlink swap)
  sigterm   SIGTERM under load: readyz, shutdown delay, stop accepting, in-flight answered, exit 0, log order
  registry  the registry killed, restarted, hanging, answering 429 and 500; --unresolved warn, then deny
  slowloris hundreds of idle TLS connections, raw TCP without handshake, headers trickled a byte a second,
            connections over --max-connections; a normal client measured meanwhile
  badinput  100 MiB bodies (Content-Length and chunked), 100,000-level nesting, a 50 MiB JSON string,
            bodies past --max-buffered-bytes; peak RSS before and after

Prints a Markdown table (one row per test) with the checks under it, then one JSON line. Exit status 1
when a check fails.
"""
import argparse, atexit, http.client, json, os, queue, re, select, shutil, signal, socket, ssl, subprocess, sys, threading, time
import urllib.error, urllib.request

ap = argparse.ArgumentParser()
for name in ("bin", "work", "certs", "bodies", "regfix-dir", "plain", "faults", "tls", "regfix-ca"):
    ap.add_argument("--" + name, required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--metrics-port", type=int, required=True)
ap.add_argument("--short", action="store_true")
ap.add_argument("--only", default="rotation,sigterm,registry,slowloris,badinput,flood")
ap.add_argument("--deployment", help="deploy/base/deployment.yaml: its memory limit and buffer flags bound the bad-input test")
A = ap.parse_args()
SHORT = A.short
WORK, CERTS, BODIES = A.work, A.certs, A.bodies
CA = os.path.join(CERTS, "ca.crt")
REGISTRY_FLAGS = ["--registry", "--registry-allow-private", "--registry-allow-insecure", "%s,%s" % (A.plain, A.faults),
                  "--registry-ca-file", A.regfix_ca, "--registry-allowlist", "%s,%s,%s" % (A.plain, A.faults, A.tls)]
JSON_HEADERS = {"Content-Type": "application/json"}


def log(msg):
    sys.stderr.write("[faults %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def pct(values, p):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def r3(x):
    return None if x is None else round(x, 3)


def short_error(e):
    return ("%s: %s" % (type(e).__name__, e))[:160]


# ---------------------------------------------------------------- bodies

def load_review(name):
    with open(os.path.join(A.bodies, name + ".json"), "rb") as f:
        return json.loads(f.read())


CATALOG_REVIEW = load_review("denied")  # Examples/reviews/02: a Pod, decided from the catalog


def catalog_body(uid):
    review = CATALOG_REVIEW
    review["request"]["uid"] = uid
    return json.dumps(review, separators=(",", ":")).encode()


def pod_body(uid, images, annotations=None):
    review = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "p-" + uid[-12:], "namespace": "faults", "operation": "CREATE",
            "userInfo": {"username": "faults@example.com", "groups": ["system:authenticated"]},
            "object": {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "p-" + uid[-12:], "namespace": "faults", "uid": "0000-" + uid[-12:]},
                       "spec": {"securityContext": {"runAsNonRoot": True},
                                "containers": [{"name": "c%d" % i, "image": im} for i, im in enumerate(images)]}},
            "oldObject": None, "dryRun": False,
        },
    }
    if annotations:
        review["request"]["object"]["metadata"]["annotations"] = annotations
    return json.dumps(review, separators=(",", ":")).encode()


# ---------------------------------------------------------------- server

def tls_context():
    return ssl.create_default_context(cafile=CA)


CTX = tls_context()


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return None, short_error(e)


SERVERS = []


def _kill_servers(*_):
    for srv in SERVERS:
        if srv.proc.poll() is None:
            srv.proc.kill()


atexit.register(_kill_servers)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class Server:
    def __init__(self, name, extra, cert=None, key=None):
        self.name = name
        self.log_path = os.path.join(WORK, "server-%s.log" % name)
        self.cmd = [A.bin, "serve", "--tls-cert-file", cert or os.path.join(CERTS, "tls.crt"),
                    "--tls-key-file", key or os.path.join(CERTS, "tls.key"),
                    "--listen", "127.0.0.1:%d" % A.port, "--metrics-listen", "127.0.0.1:%d" % A.metrics_port,
                    "--images", os.path.join(BODIES, "catalog.yaml")] + extra
        if "--shutdown-delay" not in extra:
            self.cmd += ["--shutdown-delay", "1s"]   # only the sigterm test needs the default's wait
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.pid = self.proc.pid
        SERVERS.append(self)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server %s exited with %s: %s" % (name, self.proc.returncode, open(self.log_path).read()[-2000:]))
            if http_get(self.url("/readyz"), 1)[0] == 200:
                return
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("server %s not ready in 20 s" % name)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (A.metrics_port, path)

    def metrics(self):
        status, body = http_get(self.url("/metrics"), 5)
        out = {}
        if status == 200:
            for line in body.decode().splitlines():
                if line and not line.startswith("#"):
                    key, _, value = line.rpartition(" ")
                    out[key] = float(value)
        return out

    @staticmethod
    def msum(m, name, *subs):
        return sum(v for k, v in m.items() if k.split("{", 1)[0] == name and all(s in k for s in subs))

    def status(self):
        out = {}
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        out[k] = int(v.split()[0])
                    elif k == "Threads":
                        out[k] = int(v)
            out["fds"] = len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            pass
        return out

    def stop(self, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after %ds" % timeout
        return self.proc.returncode

    def logs(self):
        self.log_file.flush()
        out = []
        with open(self.log_path, "rb") as f:
            for i, line in enumerate(f):
                try:
                    d = json.loads(line)
                    d["_line"] = i
                    out.append(d)
                except ValueError:
                    out.append({"level": "unparsed", "message": line[:200].decode(errors="replace"), "_line": i})
        return out


def log_time(entry):
    # 2026-11-29T06:30:00.123456Z -> epoch seconds
    t = entry["time"]
    base = time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return base + float("0" + t[19:-1]) if len(t) > 20 else base


# ---------------------------------------------------------------- clients

class Loop(threading.Thread):
    """An HTTP/1.1 keep-alive client (or one connection per request) posting reviews in a loop."""

    def __init__(self, name, make, results, stop, rate=None, reconnect=False, timeout=15.0, serial=False):
        super().__init__(daemon=True)
        self.name, self.make, self.results, self.stop = name, make, results, stop
        self.rate, self.reconnect, self.timeout, self.want_serial = rate, reconnect, timeout, serial
        self.seq = 0

    def run(self):
        conn = None
        next_at = time.time()
        while not self.stop.is_set():
            if self.rate:
                delay = next_at - time.time()
                if delay > 0:
                    time.sleep(delay)
                next_at = max(next_at + 1.0 / self.rate, time.time() - 1.0)
            self.seq += 1
            uid = "%s-%08d" % (self.name, self.seq)
            path, body, meta = self.make(uid)
            rec = {"w": self.name, "uid": uid, "t": time.time()}
            rec.update(meta)
            if conn is not None and conn.sock is None:
                conn = None
            if conn is None:
                try:
                    conn = http.client.HTTPSConnection("127.0.0.1", A.port, context=CTX, timeout=self.timeout)
                    conn.connect()
                    rec["new_conn"] = True
                    if self.want_serial:
                        rec["serial"] = int(conn.sock.getpeercert()["serialNumber"], 16)
                except Exception as e:  # noqa: BLE001
                    rec.update(kind="connect_failed", err=short_error(e), end=time.time())
                    self.results.append(rec)
                    conn = None
                    time.sleep(0.02)
                    continue
            try:
                conn.request("POST", path, body=body, headers=JSON_HEADERS)
                resp = conn.getresponse()
                data = resp.read()
                rec["end"] = time.time()
                rec["status"] = resp.status
                rec["kind"] = "ok" if resp.status == 200 else "status"
                rec["close"] = resp.will_close
                try:
                    doc = json.loads(data)
                    if "response" in doc:
                        r = doc["response"]
                        rec["allowed"] = r.get("allowed")
                        rec["warnings"] = " | ".join(r.get("warnings", []))[:400]
                        rec["message"] = (r.get("status") or {}).get("message", "")[:300]
                    else:
                        rec["message"] = doc.get("message", "")[:300]
                except ValueError:
                    rec["message"] = data[:200].decode(errors="replace")
                if resp.will_close or self.reconnect:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001
                rec.update(kind="no_answer", err=short_error(e), end=time.time())
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                conn = None
            self.results.append(rec)
        if conn is not None:
            conn.close()


def dump(name, records):
    """Keeps every client record of a test in the work directory, for a post-mortem."""
    with open(os.path.join(WORK, "records-%s.jsonl" % name), "a") as f:
        for r in records:
            f.write(json.dumps(r, default=str) + "\n")


def run_loops(loops):
    for lp in loops:
        lp.start()


def join_loops(loops, stop):
    stop.set()
    for lp in loops:
        lp.join(20)


def latency_ms(recs):
    return [(r["end"] - r["t"]) * 1000 for r in recs if r.get("kind") == "ok"]


def summary(recs):
    lat = latency_ms(recs)
    return {"requests": len(recs), "ok": sum(1 for r in recs if r.get("kind") == "ok"),
            "failed": sum(1 for r in recs if r.get("kind") != "ok"),
            "p50_ms": r3(pct(lat, 50)), "p99_ms": r3(pct(lat, 99)), "max_ms": r3(max(lat) if lat else None)}


class Test:
    def __init__(self, key, what):
        self.key, self.what = key, what
        self.load, self.fault, self.result = "", "", ""
        self.checks, self.figures, self.wall = [], {}, 0.0

    def check(self, name, ok, measured, goal):
        self.checks.append({"check": name, "ok": bool(ok), "measured": measured, "goal": goal})
        log("%s: %s %s (%s; goal %s)" % (self.key, "ok  " if ok else "FAIL", name, measured, goal))
        return ok

    @property
    def ok(self):
        return all(c["ok"] for c in self.checks)


def openssl_serial(path):
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial"], check=True, capture_output=True, text=True).stdout
    return int(out.strip().split("=", 1)[1], 16)


def issue_cert(directory):
    os.makedirs(directory, exist_ok=True)
    ext = os.path.join(directory, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n")
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(directory, "tls.key"), "-out", os.path.join(directory, "tls.csr")], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", os.path.join(directory, "tls.csr"), "-CA", CA, "-CAkey", os.path.join(CERTS, "ca.key"),
                    "-set_serial", "0x" + os.urandom(12).hex(), "-days", "2", "-extfile", ext,
                    "-out", os.path.join(directory, "tls.crt")], check=True, capture_output=True)
    os.remove(ext)
    os.remove(os.path.join(directory, "tls.csr"))
    return openssl_serial(os.path.join(directory, "tls.crt"))


def handshake_serial():
    with socket.create_connection(("127.0.0.1", A.port), timeout=5) as raw:
        with CTX.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return int(s.getpeercert()["serialNumber"], 16)


# ---------------------------------------------------------------- a. certificate rotation

def test_rotation():
    t = Test("a-rotation", "serving cert+key replaced every 1 s by an atomic ..data symlink swap (kubelet AtomicWriter style, old dir removed), --cert-refresh-interval 1s")
    seconds = 10 if SHORT else 30
    rot = os.path.join(WORK, "rotation")
    shutil.rmtree(rot, ignore_errors=True)
    os.makedirs(rot)
    serials = [issue_cert(os.path.join(rot, "..gen%03d" % i)) for i in range(seconds + 1)]
    os.symlink("..gen000", os.path.join(rot, "..data"))
    os.symlink("..data/tls.crt", os.path.join(rot, "tls.crt"))
    os.symlink("..data/tls.key", os.path.join(rot, "tls.key"))
    srv = Server("rotation", ["--cert-refresh-interval", "1s"], cert=os.path.join(rot, "tls.crt"), key=os.path.join(rot, "tls.key"))
    m0 = srv.metrics()
    results, stop = [], threading.Event()
    make = lambda uid: ("/validate", catalog_body(uid), {})  # noqa: E731
    loops = [Loop("keepalive%d" % i, make, results, stop, rate=50) for i in range(2)]
    loops += [Loop("newconn%d" % i, make, results, stop, rate=40, reconnect=True, serial=True) for i in range(3)]
    run_loops(loops)
    time.sleep(1)
    start = time.time()
    rotations = []
    for i in range(1, seconds + 1):
        while time.time() < start + i:
            time.sleep(0.01)
        tmp = os.path.join(rot, "..data_tmp")
        os.symlink("..gen%03d" % i, tmp)
        os.rename(tmp, os.path.join(rot, "..data"))
        shutil.rmtree(os.path.join(rot, "..gen%03d" % (i - 1)))
        rotations.append(time.time())
    time.sleep(2.5)   # two refresh intervals and a bit
    final = None
    try:
        final = handshake_serial()
    except Exception as e:  # noqa: BLE001
        final = short_error(e)
    m_mid = srv.metrics()
    # Then as certs/generate.sh writes a folder: each file replaced by its own rename, the key first,
    # here 0.5 s before the certificate, so that polls do see a new key with the old certificate.
    # The server must keep serving its previous pair then (certs/generate.sh's comment says it does).
    # Every 1.37 s, so that the 1 s polls fall sometimes inside the mismatched half second, sometimes not.
    renames = 5 if SHORT else 15
    rename_serials, rename_start = [], time.time()
    for i in range(renames):
        d = os.path.join(rot, "..rename%03d" % i)
        serial = issue_cert(d)
        while time.time() < rename_start + 1.37 * i:
            time.sleep(0.01)
        os.rename(os.path.join(d, "tls.key"), os.path.join(rot, "tls.key"))
        time.sleep(0.5)
        os.rename(os.path.join(d, "tls.crt"), os.path.join(rot, "tls.crt"))
        rename_serials.append(serial)
    time.sleep(2.5)
    final_rename = None
    try:
        final_rename = handshake_serial()
    except Exception as e:  # noqa: BLE001
        final_rename = short_error(e)
    join_loops(loops, stop)
    dump("rotation", results)
    m1 = srv.metrics()
    exit_code = srv.stop()
    window = [r for r in results if r["t"] >= start]
    s = summary(results)
    seen = {r["serial"] for r in results if "serial" in r and r["t"] >= start}
    def reloads(ma, mb, result):
        return int(Server.msum(ma, "nonroot_admission_tls_reloads_total", 'source="certificate"', 'result="%s"' % result)
                   - Server.msum(mb, "nonroot_admission_tls_reloads_total", 'source="certificate"', 'result="%s"' % result))
    ok_reloads, bad_reloads = reloads(m_mid, m0, "success"), reloads(m_mid, m0, "failure")
    ok_reloads2, bad_reloads2 = reloads(m1, m_mid, "success"), reloads(m1, m_mid, "failure")
    in_swap = [r for r in results if start <= r["t"] < rename_start]
    in_rename = [r for r in results if r["t"] >= rename_start]
    swap_failed = sum(1 for r in in_swap if r.get("kind") != "ok")
    rename_failed = sum(1 for r in in_rename if r.get("kind") != "ok")
    seen_rename = {r["serial"] for r in in_rename if "serial" in r}
    handshakes = sum(1 for r in results if r.get("new_conn"))
    logs = srv.logs()
    reload_logs = sum(1 for e in logs if e.get("message") == "serving certificate reloaded")
    error_logs = [e.get("message") for e in logs if e.get("level") in ("error", "critical")]
    t.load = "2 keep-alive clients at 50 req/s + 3 clients at 40 req/s with a new TLS connection per request (%d requests, %d handshakes)" % (s["requests"], handshakes)
    t.fault = "%d symlink swaps, one per second, for %d s; then %d per-file renames every 1.37 s (key, then the cert 0.5 s later)" % (len(rotations), seconds, renames)
    t.check("failed requests during the symlink swaps", swap_failed == 0, "%d of %d" % (swap_failed, len(in_swap)), "0")
    t.check("reloads counted (tls_reloads_total{certificate,success})", ok_reloads >= 0.8 * len(rotations), "%d for %d swaps (%d failed attempts)" % (ok_reloads, len(rotations), bad_reloads), ">= 80% of swaps")
    t.check("new serials seen by clients' handshakes", len(seen) >= 0.8 * len(rotations), "%d distinct of %d issued" % (len(seen), len(rotations)), ">= 80%")
    t.check("serving the last certificate 2.5 s after the last swap", final == serials[-1], "serial %s" % ("match" if final == serials[-1] else final), "last issued")
    t.check("failed requests during per-file renames (mismatched pair for 0.5 s each time)", rename_failed == 0,
            "%d of %d; reloads %d ok / %d failed attempts; %d serials seen" % (rename_failed, len(in_rename), ok_reloads2, bad_reloads2, len(seen_rename)), "0, previous pair kept")
    t.check("serving the last renamed certificate", final_rename == rename_serials[-1], "serial %s" % ("match" if final_rename == rename_serials[-1] else final_rename), "last issued")
    t.check("exit status on SIGTERM", exit_code == 0, exit_code, "0")
    t.figures = {"rotations": len(rotations), "reloads_success": ok_reloads, "reloads_failure": bad_reloads,
                 "renames": renames, "rename_reloads_success": ok_reloads2, "rename_reloads_failure": bad_reloads2, "rename_serials_seen": len(seen_rename),
                 "reload_log_lines": reload_logs, "error_log_lines": len(error_logs), "error_log_sample": error_logs[:3], "handshakes": handshakes,
                 "distinct_serials_seen": len(seen), "requests": s, "requests_during_swaps": len(in_swap), "requests_during_renames": len(in_rename)}
    t.result = "%d requests (%d new TLS connections), %d failed; swaps: %d/%d reloads counted, %d failed attempts; renames: %d reloads, %d failed attempts (previous pair kept), %d error log lines; p99 %s ms" % (
        s["requests"], handshakes, s["failed"], ok_reloads, len(rotations), bad_reloads, ok_reloads2, bad_reloads2, len(error_logs), s["p99_ms"])
    return t


# ---------------------------------------------------------------- b. SIGTERM mid-load

class ReadyPoller(threading.Thread):
    def __init__(self, stop):
        super().__init__(daemon=True)
        self.stop, self.samples = stop, []

    def run(self):
        while not self.stop.is_set():
            status, _ = http_get("http://127.0.0.1:%d/readyz" % A.metrics_port, 0.5)
            self.samples.append((time.time(), status))
            time.sleep(0.02)


def test_sigterm():
    t = Test("b-sigterm", "SIGTERM while clients send fast (catalog) and slow (registry lookup ~3 s) reviews")
    delay = 2 if SHORT else 5
    warm = 3 if SHORT else 5
    srv = Server("sigterm", REGISTRY_FLAGS + ["--shutdown-delay", "%ds" % delay, "--shutdown-grace-period", "20s",
                                              "--registry-timeout", "3s", "--registry-failure-ttl", "1s"])
    results, stop = [], threading.Event()
    fast = lambda uid: ("/validate", catalog_body(uid), {"type": "fast"})  # noqa: E731
    # Every slow review names its own tag behind the proxy's 'slow' fault (5 s): no cache, no shared
    # flight, so each one is a lookup that ends at the 3 s --registry-timeout.
    slow = lambda uid: ("/validate?timeout=10s", pod_body(uid, ["%s/fault/slow/v2s2/users:t-%s" % (A.faults, uid.replace("-", ""))]), {"type": "slow"})  # noqa: E731
    loops = [Loop("ka%d" % i, fast, results, stop, rate=60) for i in range(3)]
    loops += [Loop("nc%d" % i, fast, results, stop, rate=20, reconnect=True) for i in range(2)]
    loops += [Loop("slow%d" % i, slow, results, stop) for i in range(3)]
    poll_stop = threading.Event()
    poller = ReadyPoller(poll_stop)
    poller.start()
    run_loops(loops)
    time.sleep(warm)
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        exit_code = srv.proc.wait(delay + 30)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        exit_code = "hung (killed)"
    t_exit = time.time()
    time.sleep(0.5)
    join_loops(loops, stop)
    poll_stop.set()
    poller.join()
    dump("sigterm", results + [{"kind": "readyz", "t": ts, "status": st} for ts, st in poller.samples] + [{"kind": "sigterm", "t": t0}])
    logs = srv.logs()

    def first(msg):
        for e in logs:
            if e.get("message") == msg:
                return e
        return None
    names = [("not_ready", "shutdown: not ready; still serving for the shutdown delay"),
             ("stop_accepting", "shutdown: no longer accepting; finishing in-flight requests"),
             ("all_answered", "shutdown: all requests answered"), ("stopped", "stopped")]
    marks = {k: first(m) for k, m in names}
    times = {k: (log_time(e) if e else None) for k, e in marks.items()}
    lines = [marks[k]["_line"] if marks[k] else None for k, _ in names]
    order_ok = None not in lines and lines == sorted(lines)
    decisions = [e for e in logs if e.get("message") == "admission decision"]
    decided = {e["uid"]: log_time(e) for e in decisions}
    answered = {r["uid"] for r in results if r.get("kind") == "ok"}
    unanswered_accepted = sorted(u for u in decided if u not in answered)
    no_answer = [r for r in results if r.get("kind") == "no_answer"]
    no_answer_not_accepted = [r for r in no_answer if r["uid"] not in decided]
    status_errors = [r for r in results if r.get("kind") == "status"]
    t_stop = times["stop_accepting"] or t_exit
    t_ready_off = times["not_ready"] or t0
    connect_failed = [r for r in results if r.get("kind") == "connect_failed"]
    early_connect_failures = [r for r in connect_failed if r["end"] < t_stop - 0.05]
    early_no_answer = [r for r in no_answer if r["end"] < t_stop - 0.05]
    in_delay_new = [r for r in results if r.get("kind") == "ok" and r.get("new_conn") and t0 + 0.1 < r["t"] < t_stop - 0.1]
    inflight_done = [r for r in results if r.get("kind") == "ok" and r["t"] < t_stop < r["end"]]
    after_stop_dec = sum(1 for u, tt in decided.items() if tt > t_stop)
    after_all_dec = sum(1 for u, tt in decided.items() if times["all_answered"] and tt > times["all_answered"] + 0.001)
    during_delay_dec = sum(1 for u, tt in decided.items() if t_ready_off < tt < t_stop)
    first_503 = next((ts for ts, st in poller.samples if ts >= t0 and st == 503), None)
    ready_200_after = [ts for ts, st in poller.samples if ts > (first_503 or t0) and st == 200]
    s = summary(results)
    t.load = "3 keep-alive clients at 60 req/s, 2 new-connection clients at 20 req/s, 3 keep-alive clients sending reviews whose lookup takes ~3 s (%d requests)" % s["requests"]
    t.fault = "SIGTERM after %d s; --shutdown-delay %ds, --shutdown-grace-period 20s" % (warm, delay)
    t.check("exit status", exit_code == 0, exit_code, "0")
    t.check("readyz 503 after SIGTERM", first_503 is not None and first_503 - t0 < 0.5 and not ready_200_after,
            "%s ms after SIGTERM, %d x 200 after it" % (None if first_503 is None else round((first_503 - t0) * 1000), len(ready_200_after)), "< 500 ms, never 200 again")
    t.check("log order: not ready < no longer accepting < all answered < stopped", order_ok, " < ".join("%s@%s" % (k, None if times[k] is None else round(times[k] - t0, 3)) for k, _ in names), "in this order")
    gap = None if not (times["stop_accepting"] and times["not_ready"]) else times["stop_accepting"] - times["not_ready"]
    t.check("served for the shutdown delay before it stopped accepting", gap is not None and abs(gap - delay) < 0.5 and during_delay_dec > 0 and len(in_delay_new) > 0,
            "%s s; %d decisions, %d on new connections, in between" % (None if gap is None else round(gap, 3), during_delay_dec, len(in_delay_new)), "%d s +- 0.5, requests served" % delay)
    t.check("no refused connection or dropped request before it stopped accepting", not early_connect_failures and not early_no_answer,
            "%d refused, %d dropped" % (len(early_connect_failures), len(early_no_answer)), "0")
    t.check("new connections refused after it stopped accepting", len(connect_failed) > 0, "%d refused connection attempts" % len(connect_failed), "> 0")
    t.check("every accepted request answered", not unanswered_accepted and not status_errors,
            "%d decided by the server, %d of them unanswered; %d non-200" % (len(decided), len(unanswered_accepted), len(status_errors)), "0 unanswered, 0 non-200")
    t.check("in-flight requests finished after it stopped accepting", len(inflight_done) > 0 and after_stop_dec > 0 and after_all_dec == 0,
            "%d answered after stop-accepting (%d decisions logged after it, %d after 'all answered')" % (len(inflight_done), after_stop_dec, after_all_dec), "> 0, and none after 'all answered'")
    t.figures = {"exit": exit_code, "exit_after_s": round(t_exit - t0, 3), "marks_after_sigterm_s": {k: None if v is None else round(v - t0, 3) for k, v in times.items()},
                 "readyz_503_after_ms": None if first_503 is None else round((first_503 - t0) * 1000, 1),
                 "decided": len(decided), "decided_during_delay": during_delay_dec, "decided_after_stop_accepting": after_stop_dec,
                 "inflight_answered_after_stop": len(inflight_done), "connect_refused_after_stop": len(connect_failed),
                 "no_answer_never_accepted": len(no_answer_not_accepted), "no_answer_sample": [r.get("err") for r in no_answer[:3]],
                 "no_answer_sent_ms_after_stop_accepting": [round((r["t"] - t_stop) * 1000, 1) for r in no_answer[:10]],
                 "no_answer_clients": sorted({r["w"] for r in no_answer}),
                 "unanswered_accepted": unanswered_accepted[:10], "requests": s}
    t.result = "exit %s after %.2f s; readyz 503 after %s ms; stop accepting %.2f s after not-ready; %d decided, all answered (%d in flight at stop-accepting finished after it); %d connects refused after; %d requests written to closing keep-alive connections never read (not accepted)" % (
        exit_code, t_exit - t0, t.figures["readyz_503_after_ms"], gap or -1, len(decided), len(inflight_done), len(connect_failed), len(no_answer_not_accepted))
    return t


# ---------------------------------------------------------------- c. the registry under load

def regfix_pids():
    out = {}
    with open(os.path.join(A.regfix_dir, "pids")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = int(parts[1])
    return out


def kill_plain_registry():
    pid = regfix_pids()["plain"]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert A.regfix_dir.encode() in f.read(), "pid %d is not the fixture's plain registry" % pid
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        try:
            os.kill(pid, 0)
            with open("/proc/%d/status" % pid) as f:
                if "State:\tZ" in f.read():
                    break
        except OSError:
            break
        time.sleep(0.05)
    return pid


def start_plain_registry():
    """As scripts/registry-fixture.sh launches it; the PID is added to its pids file so 'stop' ends it."""
    logf = open(os.path.join(A.regfix_dir, "logs", "plain.log"), "ab")
    proc = subprocess.Popen(["docker-registry", "serve", os.path.join(A.regfix_dir, "config", "plain.yml")],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    with open(os.path.join(A.regfix_dir, "pids"), "a") as f:
        f.write("plain %d\n" % proc.pid)
    for _ in range(100):
        if http_get("http://%s/v2/" % A.plain, 1)[0] == 200:
            break
        time.sleep(0.05)
    return proc.pid


def run_registry_phases(t, unresolved, phases, per_phase):
    """Runs the phases against one server; returns per-phase records."""
    srv = Server("registry-" + unresolved, REGISTRY_FLAGS + ["--unresolved", unresolved, "--registry-tag-ttl", "2s",
                                                              "--registry-failure-ttl", "1s", "--registry-timeout", "3s"])
    state = {"image": None, "phase": None}
    results, catalog_results, stop = [], [], threading.Event()

    def make(uid):
        return "/validate?timeout=2s", pod_body(uid, [state["image"]]), {"phase": state["phase"]}
    loops = [Loop("reg%d" % i, make, results, stop, rate=25, timeout=10) for i in range(8)]
    loops.append(Loop("catalog", lambda uid: ("/validate?timeout=2s", catalog_body(uid), {"phase": state["phase"]}), catalog_results, stop, rate=100))
    marks = []
    for name, image, action, expect in phases:
        state["image"], state["phase"] = image, name
        t_action = time.time()
        note = action() if action else None
        marks.append({"phase": name, "image": image, "expect": expect, "t": t_action, "note": note})
        if len(marks) == 1:
            run_loops(loops)
        time.sleep(per_phase)
    time.sleep(0.3)
    join_loops(loops, stop)
    metrics = srv.metrics()
    exit_code = srv.stop()
    return srv, marks, results, catalog_results, exit_code, metrics


def classify(r):
    if r.get("kind") != "ok":
        return "failed"
    w = r.get("warnings", "") + " " + r.get("message", "")
    if "cannot verify" in w or "cannot be determined" in w:
        return "unresolved"
    return "found"


def test_registry():
    t = Test("c-registry", "reviews whose image needs the registry, on /validate?timeout=2s, while the registry fails")
    per = 4 if SHORT else 10
    plain_img = "%s/v2s2/users:user-1000" % A.plain
    via_proxy = "%s/v2s2/users:user-1000" % A.faults
    fault = lambda kind: "%s/fault/%s/v2s2/users:user-1000" % (A.faults, kind)  # noqa: E731
    restarted = {}
    phases = [
        ("baseline", plain_img, None, "found"),
        # A cached image keeps its last answer while its tag cannot be re-checked (stale if error);
        # an image never looked up is "cannot verify".
        ("killed", plain_img, lambda: "killed pid %d" % kill_plain_registry(), "stale"),
        ("killed-uncached", "%s/v2s2/users:user-65532" % A.plain, None, "unresolved"),
        ("restarted", plain_img, lambda: "restarted as pid %d" % restarted.setdefault("pid", start_plain_registry()), "found"),
        ("hang", fault("hang"), None, "unresolved"),
        ("429", fault("429"), None, "unresolved"),
        ("500", fault("500"), None, "unresolved"),
        ("recovered", via_proxy, None, "found"),
    ]
    rows = {}
    all_results, all_catalog = [], []
    deadline_s = 2.0
    for unresolved, plist in (("warn", phases), ("deny", [("deny-hang", fault("hang"), None, "unresolved"), ("deny-recovered", via_proxy, None, "found")])):
        srv, marks, results, catalog, exit_code, metrics = run_registry_phases(t, unresolved, plist, per)
        dump("registry-" + unresolved, [dict(m, kind="phase-start") for m in marks] + results + catalog)
        t.figures.setdefault("registry_requests_by_status", {})[unresolved] = {
            k.split("{", 1)[1].rstrip("}"): int(v) for k, v in metrics.items() if k.startswith("nonroot_admission_registry_requests_total{") and v}
        t.figures.setdefault("lookups", {})[unresolved] = {
            k.split("{", 1)[1].rstrip("}"): int(v) for k, v in metrics.items() if k.startswith("nonroot_admission_registry_lookups_total{")}
        all_results += results
        all_catalog += catalog
        t.check("exit status (--unresolved %s server)" % unresolved, exit_code == 0, exit_code, "0")
        for i, mk in enumerate(marks):
            end_t = marks[i + 1]["t"] if i + 1 < len(marks) else float("inf")
            recs = [r for r in results if r.get("phase") == mk["phase"]]
            classes = {}
            for r in recs:
                classes[classify(r)] = classes.get(classify(r), 0) + 1
            lat = [(r["end"] - r["t"]) for r in recs if "end" in r]
            late = sum(1 for x in lat if x >= deadline_s)
            failed = classes.get("failed", 0)
            row = {"unresolved": unresolved, "image": mk["image"], "note": mk["note"], "requests": len(recs), "classes": classes,
                   "p50_ms": r3(pct([x * 1000 for x in lat], 50)), "max_ms": r3(max(lat) * 1000 if lat else None), "late": late}
            # Recovery: from the action (or phase start) to the first found answer
            if mk["expect"] == "found":
                # From the fault's end (or the first request of the phase, if clients were still waiting on
                # the previous phase's slow answers) to the first answer that found the image.
                found_times = [r["end"] for r in recs if classify(r) == "found"]
                first_sent = min((r["t"] for r in recs), default=mk["t"])
                row["first_found_after_s"] = r3(min(found_times) - max(mk["t"], first_sent)) if found_times else None
                row["first_request_after_s"] = r3(first_sent - mk["t"])
                after_first = [r for r in recs if found_times and r["t"] > min(found_times) + 3.5]  # tag TTL 2 s + failure TTL 1 s
                row["not_found_after_recovery"] = sum(1 for r in after_first if classify(r) != "found")
                row["unresolved_before_first_found"] = sum(1 for r in recs if found_times and r["end"] < min(found_times) and classify(r) == "unresolved")
            if unresolved == "deny":
                unres = [r for r in recs if classify(r) == "unresolved"]
                row["denied_unresolved"] = sum(1 for r in unres if r.get("allowed") is False)
            else:
                unres = [r for r in recs if classify(r) == "unresolved"]
                row["allowed_unresolved"] = sum(1 for r in unres if r.get("allowed") is True)
            row["sample_warning"] = next((r.get("warnings") or r.get("message") for r in recs if classify(r) == "unresolved"), None)
            rows[mk["phase"]] = row
            goal_ok = failed == 0 and late == 0 and len(recs) > 0
            detail = "%d answered (%s), max %s ms" % (len(recs), ", ".join("%s %d" % kv for kv in sorted(classes.items())), row["max_ms"])
            if mk["expect"] == "found":
                goal_ok = goal_ok and row["first_found_after_s"] is not None and row["first_found_after_s"] < 5 and row["not_found_after_recovery"] == 0
                detail += ", first found after %s s (%d unresolved before it: the cached failure)" % (row["first_found_after_s"], row["unresolved_before_first_found"])
            elif mk["expect"] == "stale":
                goal_ok = goal_ok and classes.get("found", 0) == len(recs)
                detail += ", every answer the last one known"
            else:
                goal_ok = goal_ok and classes.get("unresolved", 0) > 0
                if unresolved == "deny":
                    goal_ok = goal_ok and row["denied_unresolved"] == classes.get("unresolved", 0)
                    detail += ", %d denied" % row["denied_unresolved"]
                else:
                    goal_ok = goal_ok and row["allowed_unresolved"] == classes.get("unresolved", 0)
            t.check("phase %s (--unresolved %s)" % (mk["phase"], unresolved), goal_ok, detail,
                    "all 200 in < 2 s; " + ("found again within 5 s" if mk["expect"] == "found" else "the cached answer (stale if error)" if mk["expect"] == "stale" else "unresolved, %s" % ("denied" if unresolved == "deny" else "allowed with a warning")))
    cat = summary(all_catalog)
    t.check("catalog reviews alongside: no failure, p99 < 50 ms", cat["failed"] == 0 and (cat["p99_ms"] or 0) < 50, "%d requests, p99 %s ms, max %s ms" % (cat["requests"], cat["p99_ms"], cat["max_ms"]), "0 failed, p99 < 50 ms")
    s = summary(all_results)
    t.load = "8 clients x 25 req/s of registry reviews + 1 client x 100 req/s of catalog reviews; %d s per phase" % per
    t.fault = "plain registry SIGKILLed, restarted; fault proxy hang (30 s), 429 (Retry-After 1), 500; then recovery; --unresolved warn, then deny (hang + recovery)"
    t.figures.update({"phases": rows, "registry_requests": s, "catalog_requests": cat})
    t.result = "%d registry reviews, %d failed, %d over 2 s (max %s ms); recovery: after restart %s s, after hang/429/500 %s s; catalog p99 %s ms" % (
        s["requests"], s["failed"], sum(r["late"] for r in rows.values()), s["max_ms"],
        rows.get("restarted", {}).get("first_found_after_s"), rows.get("recovered", {}).get("first_found_after_s"), cat["p99_ms"])
    return t


# ---------------------------------------------------------------- d. slowloris and idle connections

class Gauge(threading.Thread):
    def __init__(self, srv, stop):
        super().__init__(daemon=True)
        self.srv, self.stop = srv, stop
        self.max_open, self.max_fds, self.samples = 0, 0, 0

    def run(self):
        while not self.stop.is_set():
            m = self.srv.metrics()
            self.max_open = max(self.max_open, int(Server.msum(m, "nonroot_admission_open_connections")))
            self.max_fds = max(self.max_fds, self.srv.status().get("fds", 0))
            self.samples += 1
            time.sleep(0.2)


def tls_open(timeout=5.0):
    raw = socket.create_connection(("127.0.0.1", A.port), timeout=timeout)
    try:
        s = CTX.wrap_socket(raw, server_hostname="127.0.0.1")
    except Exception:
        raw.close()
        raise
    return s


class Watcher(threading.Thread):
    """Owns the slow connections: notes when each one closes, and trickles one byte a second on some."""

    SLOW_BODY_HEAD = b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"

    def __init__(self, trickle_text):
        super().__init__(daemon=True)
        self.queue, self.socks, self.stop = queue.Queue(), {}, threading.Event()
        self.poller, self.trickle_text = select.poll(), trickle_text
        self.texts = {"trickle": trickle_text, "slowbody": self.SLOW_BODY_HEAD + b"{" + b" " * 998 + b"}"}

    def add(self, kind, sock, opened):
        sock.setblocking(False)
        self.queue.put((kind, sock, opened))

    def open_count(self, kind=None):
        return sum(1 for v in list(self.socks.values()) if v["closed"] is None and (kind is None or v["kind"] == kind)) + self.queue.qsize()

    def _close(self, fd, v, how):
        v["closed"], v["how"] = time.time(), how
        try:
            self.poller.unregister(fd)
        except KeyError:
            pass

    def run(self):
        while not self.stop.is_set():
            while True:
                try:
                    kind, sock, opened = self.queue.get_nowait()
                except queue.Empty:
                    break
                fd = sock.fileno()
                self.socks[fd] = {"kind": kind, "sock": sock, "opened": opened, "closed": None, "data": b"", "sent": 0,
                                  "first_byte": None, "next_send": time.time()}
                self.poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
            now = time.time()
            for fd, v in list(self.socks.items()):
                text = self.texts.get(v["kind"])
                if text and v["closed"] is None and v["next_send"] <= now and v["sent"] < len(text):
                    # headers a byte at a time; or the whole head at once, then the body a byte at a time
                    n = len(self.SLOW_BODY_HEAD) + 1 if v["kind"] == "slowbody" and v["sent"] == 0 else 1
                    try:
                        v["sent"] += v["sock"].send(text[v["sent"]:v["sent"] + n])
                        if v["first_byte"] is None:
                            v["first_byte"] = now
                        v["next_send"] += 1.0
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        pass
                    except (OSError, ssl.SSLError):
                        self._close(fd, v, "send failed")
            for fd, _ in self.poller.poll(50):
                v = self.socks[fd]
                if v["closed"] is not None:
                    continue
                try:
                    data = v["sock"].recv(4096)
                    if data == b"":
                        self._close(fd, v, "eof")
                    else:
                        v["data"] += data
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError) as e:
                    self._close(fd, v, type(e).__name__)
        for v in self.socks.values():
            try:
                v["sock"].close()
            except OSError:
                pass


def open_many(n, kind, watcher, workers=4):
    """Opens n connections (TLS unless kind is raw) from a few threads; returns the number that failed."""
    failures = []

    def one(_):
        t = time.time()
        try:
            if kind == "raw":
                sock = socket.create_connection(("127.0.0.1", A.port), timeout=5)
            else:
                sock = tls_open(timeout=5)
            watcher.add(kind, sock, t)
        except (OSError, ssl.SSLError) as e:
            failures.append(short_error(e))
    threads = []
    per = (n + workers - 1) // workers
    for w in range(workers):
        count = min(per, n - w * per)
        if count <= 0:
            break
        th = threading.Thread(target=lambda c=count: [one(i) for i in range(c)], daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    return failures


def test_slowloris():
    t = Test("d-slowloris", "idle TLS connections, raw TCP without handshake, headers trickled 1 byte/s, connections over the limit")
    if SHORT:
        maxconn, idle_n, raw_n, trickle_n, extra_n, idle_to, req_to = 300, 250, 10, 20, 50, 10, 5
    else:
        maxconn, idle_n, raw_n, trickle_n, extra_n, idle_to, req_to = 600, 500, 20, 30, 100, 30, 10
    # --first-request-timeout equal to the idle timeout: idle TLS connections close at one known time
    # (LimitTests covers the first-request timeout on its own).
    srv = Server("slowloris", ["--max-connections", str(maxconn), "--idle-timeout", "%ds" % idle_to, "--request-timeout", "%ds" % req_to,
                               "--first-request-timeout", "%ds" % idle_to])
    m0 = srv.metrics()
    fds0 = srv.status().get("fds")
    results, stop = [], threading.Event()
    loops = [Loop("normal%d" % i, lambda uid: ("/validate", catalog_body(uid), {}), results, stop, rate=100) for i in range(2)]
    gstop = threading.Event()
    gauge = Gauge(srv, gstop)
    gauge.start()
    run_loops(loops)
    time.sleep(3)
    trickle_text = b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Padding: " + b"a" * 200
    watcher = Watcher(trickle_text)
    watcher.start()
    flood_start = time.time()
    fail_raw = open_many(raw_n, "raw", watcher, 1)
    fail_idle = open_many(idle_n, "idle", watcher)
    fail_trickle = open_many(trickle_n, "trickle", watcher, 2) + open_many(5, "slowbody", watcher, 1)
    opened_at = time.time()
    time.sleep(0.3)
    open_now = len(loops) + watcher.open_count()
    # Over the limit: each takes the slot of the longest-idle connection, which is closed; none is refused.
    fail_extra = open_many(extra_n, "extra", watcher, 2)
    extra_done = time.time()
    log("slowloris: opened %d raw, %d idle, %d trickle in %.1f s (failures %d/%d/%d); %d open; %d of %d extra refused in the handshake" % (
        raw_n, idle_n, trickle_n, opened_at - flood_start, len(fail_raw), len(fail_idle), len(fail_trickle), open_now, len(fail_extra), extra_n))
    deadline = time.time() + max(idle_to, 10, req_to) + 6
    while time.time() < deadline and watcher.open_count() > 0:
        time.sleep(0.2)
    flood_end = time.time()
    time.sleep(1)
    join_loops(loops, stop)
    dump("slowloris", results)
    watcher.stop.set()
    watcher.join(5)
    socks = watcher.socks
    after_new = None
    try:
        after_new = handshake_serial() is not None
    except Exception as e:  # noqa: BLE001
        after_new = short_error(e)
    time.sleep(0.5)
    m1 = srv.metrics()
    gstop.set()
    gauge.join()
    open_end = int(Server.msum(m1, "nonroot_admission_open_connections"))
    rejected_metric = int(Server.msum(m1, "nonroot_admission_connections_rejected_total") - Server.msum(m0, "nonroot_admission_connections_rejected_total"))
    evicted_metric = int(Server.msum(m1, "nonroot_admission_connections_evicted_total", 'stage="idle"') - Server.msum(m0, "nonroot_admission_connections_evicted_total", 'stage="idle"'))
    rejections_408 = int(Server.msum(m1, "nonroot_admission_http_rejections_total", 'code="408"') - Server.msum(m0, "nonroot_admission_http_rejections_total", 'code="408"'))
    exit_code = srv.stop()
    base = [r for r in results if r["t"] < flood_start]
    during = [r for r in results if flood_start <= r["t"] <= flood_end]
    sb, sd = summary(base), summary(during)

    def closes(kind, ref="opened"):
        return [v["closed"] - (v[ref] or v["opened"]) for v in socks.values() if v["kind"] == kind and v["closed"] is not None]

    def still_open(kind):
        return sum(1 for v in socks.values() if v["kind"] == kind and v["closed"] is None)

    def span(values):
        return "%s..%s s" % (r3(min(values)) if values else None, r3(max(values)) if values else None)
    ci, cr, ct, ce = closes("idle"), closes("raw"), closes("trickle", "first_byte"), closes("extra")
    cb = closes("slowbody", "first_byte")
    body408 = sum(1 for v in socks.values() if v["kind"] == "slowbody" and v["data"].startswith(b"HTTP/1.1 408"))
    extra_quick = sum(1 for x in ce if x < 1.0)
    got408 = sum(1 for v in socks.values() if v["kind"] == "trickle" and b" 408 " in v["data"][:20])
    t.load = "2 keep-alive clients at 100 req/s each (catalog reviews), measured before and during the flood"
    t.fault = "%d idle TLS, %d raw TCP (no handshake), %d trickling headers 1 byte/s, 5 sending the body 1 byte/s, then %d more over --max-connections %d; --idle-timeout %ds, --request-timeout %ds" % (
        idle_n, raw_n, trickle_n, extra_n, maxconn, idle_to, req_to)
    p99_goal = max(10.0, 3 * (sb["p99_ms"] or 0))
    t.check("the flood was in place before the extra connections (test validity)", extra_done - flood_start < min(idle_to, 10) - 1 and not fail_idle and not fail_raw and not fail_trickle,
            "opened in %.1f s, extra done after %.1f s; %d failed opens" % (opened_at - flood_start, extra_done - flood_start, len(fail_idle) + len(fail_raw) + len(fail_trickle)),
            "< %d s, 0 failed" % (min(idle_to, 10) - 1))
    t.check("normal client: no failure", sd["failed"] == 0 and sb["failed"] == 0, "%d failed of %d" % (sd["failed"] + sb["failed"], sd["requests"] + sb["requests"]), "0")
    t.check("normal client p99 during the flood", (sd["p99_ms"] or 1e9) <= p99_goal, "%s ms (before: %s ms; p50 %s -> %s ms)" % (sd["p99_ms"], sb["p99_ms"], sb["p50_ms"], sd["p50_ms"]), "<= max(10 ms, 3x before) = %.1f ms" % p99_goal)
    # The longest-idle connections made room for the extra ones: closed early, as many as were evicted.
    ci_evicted = [x for x in ci if x < idle_to - 0.5]
    ci_timed = [x for x in ci if x >= idle_to - 0.5]
    t.check("idle TLS closed at --idle-timeout, or evicted for the extra connections", still_open("idle") == 0 and ci_timed and max(ci_timed) <= idle_to + 2 and len(ci_evicted) <= evicted_metric,
            "%d closed after %s, %d evicted earlier, %d still open" % (len(ci_timed), span(ci_timed), len(ci_evicted), still_open("idle")), "%d..%d s; evicted <= %d" % (idle_to, idle_to + 2, evicted_metric))
    raw_to = min(idle_to, 10)  # the idle timer runs from accept too: the earlier of the two closes them
    t.check("raw TCP (no handshake) closed at min(--idle-timeout, 10 s handshake timeout)", still_open("raw") == 0 and cr and min(cr) >= raw_to - 0.5 and max(cr) <= raw_to + 2,
            "%d closed after %s" % (len(cr), span(cr)), "%d..%d s" % (raw_to, raw_to + 2))
    t.check("trickling clients closed at --request-timeout", still_open("trickle") == 0 and ct and min(ct) >= req_to - 0.5 and max(ct) <= req_to + 2.5,
            "%d closed %s after their first byte (%d got a 408 first)" % (len(ct), span(ct), got408), "%d..%.1f s" % (req_to, req_to + 2.5))
    t.check("slow bodies (head at once, body 1 byte/s): 408, then closed, at --request-timeout", still_open("slowbody") == 0 and body408 == 5 and cb and min(cb) >= req_to - 0.5 and max(cb) <= req_to + 2.5,
            "%d of 5 got 408; closed %s after the head" % (body408, span(cb)), "5 x 408, %d..%.1f s" % (req_to, req_to + 2.5))
    t.check("never more than --max-connections open", gauge.max_open <= maxconn, "gauge max %d (server fds max %d, %d before)" % (gauge.max_open, gauge.max_fds, fds0 or 0), "<= %d" % maxconn)
    # Raw TCP connections never finish a handshake, so they never take an established slot.
    expect_evicted = max(0, open_now - raw_n + extra_n - maxconn)
    t.check("connections over the limit take the longest-idle ones' slots; none refused", not fail_extra and extra_quick == 0 and rejected_metric == 0 and abs(evicted_metric - expect_evicted) <= 3,
            "%d of %d extra failed, %d closed within 1 s; connections_rejected_total +%d; connections_evicted_total{stage=idle} +%d (expected %d)" % (
                len(fail_extra), extra_n, extra_quick, rejected_metric, evicted_metric, expect_evicted), "0 failed, 0 refused, evicted expected +- 3")
    t.check("serving new connections after the flood; gauge back down", after_new is True and open_end <= 2, "new handshake %s; open_connections %d" % (after_new, open_end), "ok; <= 2")
    t.check("exit status", exit_code == 0, exit_code, "0")
    t.figures = {"before": sb, "during": sd, "idle_close_s": span(ci), "raw_close_s": span(cr), "trickle_close_s": span(ct), "trickle_408": got408, "slowbody_408": body408, "slowbody_close_s": span(cb),
                 "trickle_bytes_sent": sorted({v["sent"] for v in socks.values() if v["kind"] == "trickle"}),
                 "extra_failed": len(fail_extra), "evicted_idle": evicted_metric, "extra_closed_s": span(ce), "open_before_extra": open_now, "opened_in_s": round(opened_at - flood_start, 2),
                 "gauge_max_open": gauge.max_open, "fds_max": gauge.max_fds, "fds_before": fds0, "connections_rejected_total": rejected_metric,
                 "rejections_408": rejections_408, "extra_errors_sample": fail_extra[:2]}
    t.result = "normal client p99 %s -> %s ms, %d failed of %d; idle closed at %s (%d evicted for %d extra), raw at %s, trickle at %s after 1st byte; open max %d <= %d" % (
        sb["p99_ms"], sd["p99_ms"], sd["failed"] + sb["failed"], sd["requests"] + sb["requests"], span(ci_timed), evicted_metric, extra_n, span(cr), span(ct), gauge.max_open, maxconn)
    return t


# ---------------------------------------------------------------- e. bad inputs

def send_raw(head, chunks, timeout=60.0):
    """Sends a request (head bytes, then body chunks) on a fresh TLS connection while reading the answer.
    Returns status, message, seconds to the answer, body bytes sent, how it ended."""
    s = tls_open()
    s.setblocking(False)
    pending = memoryview(head)
    it = iter(chunks)
    sent_body, started, answered_at = 0, time.time(), None
    resp, sending, closed, how = b"", True, False, ""
    in_head = True
    while time.time() - started < timeout:
        r, w, _ = select.select([s], [s] if sending else [], [], 1.0)
        if r:
            try:
                data = s.recv(65536)
                if data == b"":
                    closed, how = True, "closed"
                else:
                    if answered_at is None:
                        answered_at = time.time()
                    resp += data
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ssl.SSLError) as e:
                closed, how = True, type(e).__name__
        if closed:
            break
        if resp and b"\r\n\r\n" in resp:
            head_end = resp.index(b"\r\n\r\n") + 4
            m = re.search(rb"content-length: *(\d+)", resp[:head_end], re.I)
            if m and len(resp) >= head_end + int(m.group(1)):
                how = how or "answered"
                # keep reading a moment to see whether the server closes
                sending = False
                try:
                    s.settimeout(1)
                    closed = s.recv(1) == b""
                    how = "answered, then closed" if closed else "answered, kept open"
                except socket.timeout:
                    how = "answered, kept open"
                except (OSError, ssl.SSLError):
                    how = "answered, then closed"
                break
        if sending and w:
            if not len(pending):
                try:
                    chunk = next(it)
                    pending = memoryview(chunk)
                    in_head = False
                except StopIteration:
                    sending = False
                    continue
            try:
                n = s.send(pending[:16384])
                if not in_head:
                    sent_body += n
                pending = pending[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            except (OSError, ssl.SSLError) as e:
                sending, how = False, "send failed: " + type(e).__name__
    try:
        s.close()
    except OSError:
        pass
    status, message = None, ""
    m = re.match(rb"HTTP/1\.1 (\d+)", resp)
    if m:
        status = int(m.group(1))
        body = resp.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in resp else b""
        try:
            message = json.loads(body).get("message", "")
        except ValueError:
            message = body[:200].decode(errors="replace")
    return {"status": status, "message": message[:200], "answer_after_s": r3(answered_at - started) if answered_at else None,
            "body_bytes_sent": sent_body, "how": how or ("timeout" if not resp else "?")}


def head_for(path="/validate", length=None, chunked=False):
    h = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" % path
    if length is not None:
        h += "Content-Length: %d\r\n" % length
    if chunked:
        h += "Transfer-Encoding: chunked\r\n"
    return (h + "\r\n").encode()


MIB = 1 << 20
DEFAULT_MAX_BODY = 7 * MIB   # serve's --max-body-bytes default


def gen_repeat(total, block=b"x" * 65536):
    left = total
    while left > 0:
        n = min(left, len(block))
        yield block[:n]
        left -= n


def gen_chunked(total, block=b"x" * 65536):
    for piece in gen_repeat(total, block):
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def big_string_review(size):
    prefix = b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"big-string","kind":{"group":"","version":"v1","kind":"Pod"},' \
             b'"resource":{"group":"","version":"v1","resource":"pods"},"name":"big","namespace":"faults","operation":"CREATE",' \
             b'"userInfo":{"username":"faults@example.com"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","namespace":"faults","annotations":{"big":"'
    suffix = b'"}},"spec":{"securityContext":{"runAsNonRoot":true},"containers":[{"name":"app","image":"ghcr.io/acme/api:2.4.1"}]}}}}'
    return prefix, suffix, len(prefix) + size + len(suffix)


def gen_big_string(size):
    prefix, suffix, _ = big_string_review(size)
    yield prefix
    yield from gen_repeat(size, b"a" * 65536)
    yield suffix


def normal_ok():
    try:
        c = http.client.HTTPSConnection("127.0.0.1", A.port, context=CTX, timeout=10)
        c.request("POST", "/validate", body=catalog_body("after-bad-input"), headers=JSON_HEADERS)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except Exception:  # noqa: BLE001
        return False


def deployment_limits(path):
    """The container memory limit (MiB) and the NONROOT_ADMISSION_* values the shipped Deployment sets."""
    out = {"memory_limit_mib": None, "env": {}}
    if not path or not os.path.exists(path):
        return out
    text = open(path).read()
    m = re.search(r"limits:\s*\n(?:\s+cpu:.*\n)?\s+memory:\s*\"?(\d+)(Mi|Gi|M|G)", text)
    if m:
        out["memory_limit_mib"] = int(m.group(1)) * (1024 if m.group(2) in ("Gi", "G") else 1)
    for name, value in re.findall(r"- name: (NONROOT_ADMISSION_[A-Z_]+)\s*\n\s+value:\s*\"?([^\"\n]+)\"?", text):
        out["env"][name] = value.strip()
    return out


def test_badinput():
    deploy = deployment_limits(A.deployment)
    limit_mib = int(os.environ.get("REL_MEMORY_LIMIT_MIB") or deploy["memory_limit_mib"] or 128)
    flags = []
    for env, flag in (("NONROOT_ADMISSION_MAX_BODY_BYTES", "--max-body-bytes"), ("NONROOT_ADMISSION_MAX_BUFFERED_BYTES", "--max-buffered-bytes"),
                      ("NONROOT_ADMISSION_THREADS", "--threads")):
        if env in deploy["env"]:
            flags += [flag, deploy["env"][env]]
    budget = int(deploy["env"].get("NONROOT_ADMISSION_MAX_BUFFERED_BYTES", 128 * MIB))
    t = Test("e-badinput", "oversized and hostile bodies, with the body limits of deploy/base (%s; else the defaults: --max-body-bytes 7 MiB, --max-buffered-bytes 128 MiB)" % (" ".join(flags) or "none set"))
    srv = Server("badinput", flags)
    normal_ok()
    st0 = srv.status()
    m0 = srv.metrics()
    cases = []

    def case(name, expect_status, expect_text, head, chunks, timeout=60):
        before = srv.status()
        res = send_raw(head, chunks, timeout)
        alive = srv.proc.poll() is None
        ok_after = normal_ok()
        after = srv.status()
        res.update(name=name, hwm_before_kib=before.get("VmHWM"), hwm_after_kib=after.get("VmHWM"), rss_after_kib=after.get("VmRSS"), serving_after=ok_after and alive)
        cases.append(res)
        t.check(name, res["status"] == expect_status and expect_text in res["message"] and ok_after and alive,
                "%s %r after %s s, %.1f MiB of body sent, %s; serving after: %s; VmHWM %d -> %d KiB" % (
                    res["status"], res["message"][:90], res["answer_after_s"], res["body_bytes_sent"] / MIB, res["how"], ok_after and alive,
                    before.get("VmHWM", 0), after.get("VmHWM", 0)),
                "%d containing %r; still serving" % (expect_status, expect_text))
        return res

    case("100 MiB body, Content-Length", 413, "larger than", head_for(length=100 * MIB), gen_repeat(100 * MIB))
    case("100 MiB body, chunked", 413, "larger than", head_for(chunked=True), gen_chunked(100 * MIB))
    nested = b"[" * 100000 + b"]" * 100000
    case("100,000 nested arrays (200 KB)", 400, "deeper than", head_for(length=len(nested)), [nested])
    nested_obj = b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":' + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"}"
    case("100,000 nested objects in a review", 400, "deeper than", head_for(length=len(nested_obj)), [nested_obj])
    _, _, big_len = big_string_review(50 * MIB)
    case("a 50 MiB JSON string in a review", 413, "larger than", head_for(length=big_len), gen_big_string(50 * MIB))
    # Not in the issue's list, but the same family: 1 MiB of request headers (llhttp's limit is 80 KiB).
    before = srv.status()
    hdr = head_for(length=2)[:-2] + b"".join(b"X-Flood-%05d: %s\r\n" % (i, b"h" * 1000) for i in range(1024)) + b"\r\n"
    res = send_raw(hdr, [b"{}"], 30)
    ok_after = normal_ok() and srv.proc.poll() is None
    res.update(name="1 MiB of request headers", hwm_before_kib=before.get("VmHWM"), hwm_after_kib=srv.status().get("VmHWM"), serving_after=ok_after)
    cases.append(res)
    t.check(res["name"], res["status"] == 400 and res["message"] == "request headers are larger than 80 KiB" and ok_after,
            "%s %r after %s s, %s; serving after: %s" % (res["status"], res["message"][:60], res["answer_after_s"], res["how"], ok_after),
            "400 with a Status naming the 80 KiB limit; still serving")
    st1 = srv.status()
    growth_single = (st1.get("VmHWM", 0) - st0.get("VmHWM", 0)) / 1024.0
    t.check("peak RSS after the oversized bodies", growth_single < 48, "VmHWM %.1f -> %.1f MiB (+%.1f)" % (st0.get("VmHWM", 0) / 1024, st1.get("VmHWM", 0) / 1024, growth_single), "+< 48 MiB")

    # Many large bodies at once: the server-wide budget must refuse some with 503, not buffer them all,
    # and what it does buffer must fit in the memory the shipped Deployment gives the container.
    max_body = int(deploy["env"].get("NONROOT_ADMISSION_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
    part = max_body - 2048   # plus the 1 KiB sent last: just under --max-body-bytes
    conns = budget // part + 6
    held = []
    budget_started = time.time()
    for i in range(conns):
        try:
            s = tls_open()
            held.append(s)
            s.settimeout(10)
            s.sendall(head_for(length=part + 1024))
            for piece in gen_repeat(part):
                s.sendall(piece)
        except (OSError, ssl.SSLError):
            pass
    log("badinput: %d x %.1f MiB sent in %.1f s" % (conns, part / MIB, time.time() - budget_started))
    refused_503, other = 0, {}
    time.sleep(0.5)
    st_peak = srv.status()
    for s in held:
        try:
            s.settimeout(0.2)
            data = b""
            try:
                data = s.recv(4096)
            except (socket.timeout, ssl.SSLWantReadError):
                s.settimeout(10)
                s.sendall(b"x" * 1024)   # the rest of the body: not JSON, so 400
                data = s.recv(4096)
            m = re.match(rb"HTTP/1\.1 (\d+)", data)
            code = int(m.group(1)) if m else ("closed" if data == b"" else "?")
        except (OSError, ssl.SSLError) as e:
            code = type(e).__name__
        if code == 503:
            refused_503 += 1
        else:
            other[str(code)] = other.get(str(code), 0) + 1
        s.close()
    alive = srv.proc.poll() is None and normal_ok()
    time.sleep(1)
    st2 = srv.status()
    t.check("%d bodies of %.1f MiB at once: --max-buffered-bytes enforced" % (conns, part / MIB), refused_503 > 0 and alive,
            "%d x 503, others %s; VmHWM %.1f MiB (RSS %.1f MiB while held, %.1f MiB 1 s after); serving after: %s" % (
                refused_503, other, st2.get("VmHWM", 0) / 1024, st_peak.get("VmRSS", 0) / 1024, st2.get("VmRSS", 0) / 1024, alive),
            ">= 1 x 503, still serving")
    t.check("peak RSS under the Deployment's memory limit while the budget is full", st2.get("VmHWM", 0) / 1024.0 < limit_mib,
            "VmHWM %.1f MiB with %.0f MiB of bodies buffered (budget %.0f MiB)" % (st2.get("VmHWM", 0) / 1024, (conns - refused_503) * part / MIB, budget / MIB),
            "< %d MiB (deploy/base/deployment.yaml limits.memory; REL_MEMORY_LIMIT_MIB overrides)" % limit_mib)
    m1 = srv.metrics()
    exit_code = srv.stop()
    t.check("exit status", exit_code == 0, exit_code, "0")

    # The same 50 MiB string with the limit raised: how much memory does one big accepted body cost?
    srv2 = Server("badinput-64m", ["--max-body-bytes", str(64 * MIB)])
    normal_ok()
    b0 = srv2.status()
    res = send_raw(head_for(length=big_len), gen_big_string(50 * MIB), 120)
    b1 = srv2.status()
    alive2 = srv2.proc.poll() is None and normal_ok()
    exit2 = srv2.stop()
    growth_big = (b1.get("VmHWM", 0) - b0.get("VmHWM", 0)) / 1024.0
    t.check("50 MiB string with --max-body-bytes 64Mi: answered, still serving", res["status"] == 200 and alive2 and exit2 == 0,
            "%s after %s s; VmHWM %.1f -> %.1f MiB (+%.1f, %.1fx the body)" % (res["status"], res["answer_after_s"], b0.get("VmHWM", 0) / 1024, b1.get("VmHWM", 0) / 1024, growth_big, growth_big / 50),
            "200 (a valid review); informational memory figure")
    rej = {k.split("{", 1)[1].rstrip("}"): int(v - m0.get(k, 0)) for k, v in m1.items() if k.startswith("nonroot_admission_http_rejections_total{")}
    t.load = "one request at a time on a fresh TLS connection, a normal review after each"
    t.fault = "100 MiB (Content-Length and chunked), 100,000-level nesting (arrays; objects in a review), 50 MiB string, 1 MiB of headers, %d x 7 MiB at once" % conns
    t.figures = {"deployment": deploy, "memory_limit_mib": limit_mib, "budget_bytes": budget, "cases": cases, "hwm_start_kib": st0.get("VmHWM"), "hwm_after_single_kib": st1.get("VmHWM"), "hwm_after_budget_kib": st2.get("VmHWM"),
                 "budget_503": refused_503, "budget_other": other, "rss_while_budget_held_kib": st_peak.get("VmRSS"), "rss_1s_after_budget_kib": st2.get("VmRSS"), "rejections": rej, "raised_limit_50mib": {"result": res, "hwm_before_kib": b0.get("VmHWM"), "hwm_after_kib": b1.get("VmHWM")}}
    t.result = "%s, each in <= %s s; VmHWM %.1f -> %.1f MiB after them, %.1f MiB after %d x 7 MiB (%d x 503); a 50 MiB body accepted under a raised limit costs +%.0f MiB peak" % (
        "/".join(str(c["status"]) for c in cases), max((c["answer_after_s"] or 0) for c in cases), st0.get("VmHWM", 0) / 1024, st1.get("VmHWM", 0) / 1024, st2.get("VmHWM", 0) / 1024, conns, refused_503, growth_big)
    return t


# ---------------------------------------------------------------- f. floods of maximum-size bodies

def flood_shapes(size):
    """Bodies of about `size` bytes in every JSON shape: (name, body, what the server must answer)."""
    def review(obj, operation="CREATE", old=None):
        req = {"uid": "flood", "kind": {"group": "", "version": "v1", "kind": "Pod"},
               "resource": {"group": "", "version": "v1", "resource": "pods"}, "name": "web", "namespace": "flood",
               "operation": operation, "userInfo": {"username": "flood"}, "object": obj}
        if old is not None:
            req["oldObject"] = old
        return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}, separators=(",", ":")).encode()

    def pod(containers, metadata=None):
        md = {"name": "web", "namespace": "flood", "uid": "u-flood"}
        md.update(metadata or {})
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": {"securityContext": {"runAsNonRoot": True}, "containers": containers}}

    one = [{"name": "app", "image": "busybox:1.36", "securityContext": {"runAsUser": 1000}}]
    half = min(size // 2, 3 * MIB) - 4096   # an UPDATE's objects: each at most the apiserver's 3 MiB
    n_cont = half // 60
    many = lambda tag: [{"name": "c%d" % i, "image": "registry.example/a%d:%s" % (i, tag)} for i in range(n_cont)]
    n_args = half // 3
    args = lambda tag: [{"name": "app", "image": "registry.example/app:%s" % tag, "args": [""] * n_args}]
    return [
        ("dense array [0,0,...]", b"[" + b"0," * (size // 2 - 1) + b"0]", (400,)),
        ("deep nesting [[[...", b"[" * size, (400,)),
        ("long string (one annotation)", review(pod(one, {"annotations": {"note": "x" * (size - 4096)}})), (200,)),
        ("many keys (labels)", review(pod(one, {"labels": {"k%d" % i: "" for i in range((size - 4096) // 14)}})), (200,)),
        ("UPDATE, 2 x %d containers" % n_cont, review(pod(many("2")), "UPDATE", pod(many("1"))), (200,)),
        ("UPDATE, 2 x %d args (densest valid)" % n_args, review(pod(args("2")), "UPDATE", pod(args("1"))), (200,)),
    ]


class Flooder(threading.Thread):
    """Posts one body over and over on a keep-alive connection, reconnecting after each refusal."""

    def __init__(self, body, stop, counts):
        super().__init__(daemon=True)
        self.body, self.stop, self.counts = body, stop, counts

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", A.port, context=CTX, timeout=20)
                conn.request("POST", "/validate", body=self.body, headers=JSON_HEADERS)
                resp = conn.getresponse()
                resp.read()
                key = str(resp.status)
                if resp.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001
                key = type(e).__name__
                conn = None
                time.sleep(0.01)
            self.counts[key] = self.counts.get(key, 0) + 1


def test_flood():
    deploy = deployment_limits(A.deployment)
    limit_mib = int(os.environ.get("REL_MEMORY_LIMIT_MIB") or deploy["memory_limit_mib"] or 128)
    flags = []
    for env, flag in (("NONROOT_ADMISSION_MAX_BODY_BYTES", "--max-body-bytes"), ("NONROOT_ADMISSION_MAX_BUFFERED_BYTES", "--max-buffered-bytes"),
                      ("NONROOT_ADMISSION_THREADS", "--threads")):
        if env in deploy["env"]:
            flags += [flag, deploy["env"][env]]
    max_body = int(deploy["env"].get("NONROOT_ADMISSION_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
    connections = 32
    seconds = 4 if SHORT else 15
    t = Test("f-flood", "%d connections sending maximum-size bodies (%.1f MiB) of each JSON shape for %d s each, with the Deployment's limits (%s)" % (
        connections, max_body / MIB, seconds, " ".join(flags) or "defaults"))
    srv = Server("flood", flags + ["--log-level", "warning"])
    normal_ok()
    shapes = flood_shapes(max_body - 1024)
    rows = []
    for name, body, expected in shapes:
        stop = threading.Event()
        counts = {}
        flooders = [Flooder(body, stop, counts) for _ in range(connections)]
        ordinary = []
        normal = Loop("normal-" + name.split()[0], lambda uid: ("/validate", catalog_body(uid), {}), ordinary, stop, rate=50)
        for f in flooders:
            f.start()
        normal.start()
        peak = 0
        t_end = time.time() + seconds
        while time.time() < t_end and srv.proc.poll() is None:
            time.sleep(0.25)
            peak = max(peak, srv.status().get("VmRSS", 0))
        stop.set()
        normal.join(20)
        for f in flooders:
            f.join(30)
        alive = srv.proc.poll() is None
        dump("flood", ordinary)
        summ = summary(ordinary)
        ok_times = sorted(r["end"] for r in ordinary if r.get("kind") == "ok")
        gap = max((b - a for a, b in zip(ok_times, ok_times[1:])), default=None)
        hwm = srv.status().get("VmHWM", 0)
        answered = {k: v for k, v in counts.items()}
        row = {"shape": name, "bytes": len(body), "flood": answered, "ordinary": summ, "max_gap_s": r3(gap), "peak_rss_kib": peak, "hwm_kib": hwm, "alive": alive}
        rows.append(row)
        t.check("%s: ordinary reviews answered throughout" % name, alive and summ["failed"] == 0 and summ["ok"] > 0 and gap is not None and gap < 1.0,
                "%d/%d ok, p99 %s ms, longest gap %s s" % (summ["ok"], summ["requests"], summ["p99_ms"], r3(gap)), "0 failed, no gap >= 1 s")
        # A 503 closes the connection while the client may still be sending: it sees a reset or an EOF.
        closed = ["ConnectionResetError", "BrokenPipeError", "RemoteDisconnected", "SSLEOFError", "SSLError"]
        statuses = sum(v for k, v in answered.items() if k.isdigit())
        t.check("%s: the flood is answered (%s) or refused (503), nothing else" % (name, "/".join(map(str, expected))),
                statuses > 0 and all(k in [str(c) for c in expected] + ["503"] + closed for k in answered),
                answered, "only %s, 503 or a close after a 503; >= 1 answer" % "/".join(map(str, expected)))
        t.check("%s: peak RSS under the memory limit" % name, hwm / 1024.0 < limit_mib,
                "VmHWM %.1f MiB (RSS peak in this phase %.1f MiB)" % (hwm / 1024.0, peak / 1024.0), "< %d MiB" % limit_mib)
        if not alive:
            break
    exit_code = srv.stop()
    t.check("exit status", exit_code == 0, exit_code, "0")
    t.load = "an ordinary review at 50/s on one keep-alive connection"
    t.fault = "per shape, %d connections posting it back to back: %s" % (connections, "; ".join("%s (%.1f MiB)" % (r["shape"], r["bytes"] / MIB) for r in rows))
    t.figures = {"deployment": deploy, "memory_limit_mib": limit_mib, "shapes": rows}
    t.result = "VmHWM %.1f MiB (limit %d); ordinary p99 %s ms at worst; floods answered %s" % (
        max((r["hwm_kib"] for r in rows), default=0) / 1024.0, limit_mib, max((r["ordinary"]["p99_ms"] or 0 for r in rows), default=None),
        ", ".join("%s %s" % (r["shape"].split()[0], r["flood"]) for r in rows))
    return t


# ---------------------------------------------------------------- main

TESTS = {"rotation": test_rotation, "sigterm": test_sigterm, "registry": test_registry, "slowloris": test_slowloris, "badinput": test_badinput,
         "flood": test_flood}
done = []
wall0 = time.time()
for key in [k.strip() for k in A.only.split(",") if k.strip()]:
    t0 = time.time()
    log("---- %s" % key)
    try:
        t = TESTS[key]()
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        t = Test(key, "crashed")
        t.check("test ran", False, short_error(e), "no exception")
    t.wall = round(time.time() - t0, 1)
    done.append(t)
    log("---- %s: %s in %.1f s" % (key, "PASS" if t.ok else "FAIL", t.wall))

ok = all(t.ok for t in done)
print("\n## Faults (%s mode)\n" % ("short" if SHORT else "full"))
print("| test | what was done | load held | faults / inputs | result | wall s | |")
print("|---|---|---|---|---|---|---|")
for t in done:
    print("| %s | %s | %s | %s | %s | %.1f | %s |" % (t.key, t.what, t.load, t.fault, t.result, t.wall, "PASS" if t.ok else "**FAIL**"))
for t in done:
    print("\n%s:\n" % t.key)
    print("| check | goal | measured | |")
    print("|---|---|---|---|")
    for c in t.checks:
        print("| %s | %s | %s | %s |" % (c["check"], c["goal"], c["measured"], "ok" if c["ok"] else "**FAIL**"))
print("\nfaults: %s" % ("PASS" if ok else "FAIL"))
print(json.dumps({"test": "faults", "mode": "short" if SHORT else "full", "ok": ok, "wall_s": round(time.time() - wall0, 1),
                  "tests": {t.key: {"ok": t.ok, "wall_s": t.wall, "checks": t.checks, "figures": t.figures} for t in done}},
                 separators=(",", ":"), default=str))
sys.exit(0 if ok else 1)
