"""The fault runs' harness: the context each fault gets, the server under test, the client loops, the
checks, and main(), which parses the arguments, runs the faults asked for and prints the report.

Importing this module runs nothing; `python3 -m faults` (scripts/faults.sh) calls main().
"""
import argparse, atexit, http.client, json, os, re, signal, socket, ssl, subprocess, sys, threading, time
import urllib.error, urllib.request

JSON_HEADERS = {"Content-Type": "application/json"}
MIB = 1 << 20
DEFAULT_MAX_BODY = 7 * MIB   # serve's --max-body-bytes default
DEFAULT_MEMORY_LIMIT_MIB = 128
# The faults in the order they run, each a module of this package exposing run(ctx) -> Test.
FAULTS = ("rotation", "sigterm", "registry", "slowloris", "badinput", "flood")


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


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return None, short_error(e)


def log_time(entry):
    # 2026-11-29T06:30:00.123456Z -> epoch seconds
    t = entry["time"]
    base = time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return base + float("0" + t[19:-1]) if len(t) > 20 else base


# ---------------------------------------------------------------- bodies

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


# ---------------------------------------------------------------- the context

class Context:
    """What every fault needs, from the command line: where things are, the ports, the mode, the
    registry fixture, the Deployment's limits, a TLS client context, and the servers started so far."""

    def __init__(self, args):
        self.bin, self.work, self.certs, self.bodies = args.bin, args.work, args.certs, args.bodies
        self.regfix_dir, self.plain, self.faults, self.tls = args.regfix_dir, args.plain, args.faults, args.tls
        self.port, self.metrics_port, self.short = args.port, args.metrics_port, args.short
        self.ca = os.path.join(self.certs, "ca.crt")
        self.registry_flags = ["--registry", "--registry-allow-private", "--registry-allow-insecure", "%s,%s" % (args.plain, args.faults),
                               "--registry-ca-file", args.regfix_ca, "--registry-allowlist", "%s,%s,%s" % (args.plain, args.faults, args.tls)]
        # deploy/base/deployment.yaml: its memory limit and body flags bound the bad-input and flood faults.
        self.deploy = deployment_limits(args.deployment)
        self.memory_limit_mib = int(os.environ.get("REL_MEMORY_LIMIT_MIB") or self.deploy["memory_limit_mib"] or DEFAULT_MEMORY_LIMIT_MIB)
        self.deploy_flags = []
        for env, flag in (("NONROOT_ADMISSION_MAX_BODY_BYTES", "--max-body-bytes"), ("NONROOT_ADMISSION_MAX_BUFFERED_BYTES", "--max-buffered-bytes"),
                          ("NONROOT_ADMISSION_THREADS", "--threads")):
            if env in self.deploy["env"]:
                self.deploy_flags += [flag, self.deploy["env"][env]]
        self.max_body = int(self.deploy["env"].get("NONROOT_ADMISSION_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        self.client_tls = ssl.create_default_context(cafile=self.ca)
        with open(os.path.join(self.bodies, "denied.json"), "rb") as f:
            self.catalog_review = json.loads(f.read())   # Examples/reviews/02: a Pod, decided from the catalog
        self.servers = []

    def catalog_body(self, uid):
        review = self.catalog_review
        review["request"]["uid"] = uid
        return json.dumps(review, separators=(",", ":")).encode()

    def kill_servers(self):
        for srv in self.servers:
            if srv.proc.poll() is None:
                srv.proc.kill()

    def dump(self, name, records):
        """Keeps every client record of a test in the work directory, for a post-mortem."""
        with open(os.path.join(self.work, "records-%s.jsonl" % name), "a") as f:
            for r in records:
                f.write(json.dumps(r, default=str) + "\n")

    def https(self, timeout):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.client_tls, timeout=timeout)

    def tls_open(self, timeout=5.0):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s = self.client_tls.wrap_socket(raw, server_hostname="127.0.0.1")
        except Exception:
            raw.close()
            raise
        return s

    def handshake_serial(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with self.client_tls.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return int(s.getpeercert()["serialNumber"], 16)

    def normal_ok(self):
        """One ordinary review on a new connection: is the server still serving?"""
        try:
            c = self.https(10)
            c.request("POST", "/validate", body=self.catalog_body("after-bad-input"), headers=JSON_HEADERS)
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except Exception:  # noqa: BLE001
            return False

    def issue_cert(self, directory):
        """A new serving certificate and key from the run's CA in directory; returns its serial."""
        os.makedirs(directory, exist_ok=True)
        ext = os.path.join(directory, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n")
        subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-keyout", os.path.join(directory, "tls.key"), "-out", os.path.join(directory, "tls.csr")], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", os.path.join(directory, "tls.csr"), "-CA", self.ca, "-CAkey", os.path.join(self.certs, "ca.key"),
                        "-set_serial", "0x" + os.urandom(12).hex(), "-days", "2", "-extfile", ext,
                        "-out", os.path.join(directory, "tls.crt")], check=True, capture_output=True)
        os.remove(ext)
        os.remove(os.path.join(directory, "tls.csr"))
        return openssl_serial(os.path.join(directory, "tls.crt"))


def openssl_serial(path):
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial"], check=True, capture_output=True, text=True).stdout
    return int(out.strip().split("=", 1)[1], 16)


# ---------------------------------------------------------------- server

class Server:
    def __init__(self, ctx, name, extra, cert=None, key=None):
        self.name, self.metrics_port = name, ctx.metrics_port
        self.log_path = os.path.join(ctx.work, "server-%s.log" % name)
        self.cmd = [ctx.bin, "serve", "--tls-cert-file", cert or os.path.join(ctx.certs, "tls.crt"),
                    "--tls-key-file", key or os.path.join(ctx.certs, "tls.key"),
                    "--listen", "127.0.0.1:%d" % ctx.port, "--metrics-listen", "127.0.0.1:%d" % ctx.metrics_port,
                    "--images", os.path.join(ctx.bodies, "catalog.yaml")] + extra
        if "--shutdown-delay" not in extra:
            self.cmd += ["--shutdown-delay", "1s"]   # only the sigterm test needs the default's wait
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.pid = self.proc.pid
        ctx.servers.append(self)
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
        return "http://127.0.0.1:%d%s" % (self.metrics_port, path)

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


# ---------------------------------------------------------------- clients

class Loop(threading.Thread):
    """An HTTP/1.1 keep-alive client (or one connection per request) posting reviews in a loop."""

    def __init__(self, ctx, name, make, results, stop, rate=None, reconnect=False, timeout=15.0, serial=False):
        super().__init__(daemon=True)
        self.ctx, self.name, self.make, self.results, self.stop = ctx, name, make, results, stop
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
                    conn = self.ctx.https(self.timeout)
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


# ---------------------------------------------------------------- checks and the report

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


def report(done, short, wall_s):
    """The Markdown tables (one row per test, then its checks) and, as the last line, one JSON object."""
    ok = all(t.ok for t in done)
    print("\n## Faults (%s mode)\n" % ("short" if short else "full"))
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
    print(json.dumps({"test": "faults", "mode": "short" if short else "full", "ok": ok, "wall_s": wall_s,
                      "tests": {t.key: {"ok": t.ok, "wall_s": t.wall, "checks": t.checks, "figures": t.figures} for t in done}},
                     separators=(",", ":"), default=str))
    return ok


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m faults", description="Fault injection for `nonroot-admission serve`; run through scripts/faults.sh.")
    for name in ("bin", "work", "certs", "bodies", "regfix-dir", "plain", "faults", "tls", "regfix-ca"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--only", default=",".join(FAULTS))
    ap.add_argument("--deployment", help="deploy/base/deployment.yaml: its memory limit and buffer flags bound the bad-input test")
    return ap.parse_args(argv)


def main(argv=None):
    """Runs the faults --only names, in that order; returns the exit status (0 every check passed, 1 not)."""
    import traceback
    from . import badinput, flood, registry, rotation, sigterm, slowloris   # they import this module
    faults = {"rotation": rotation.run, "sigterm": sigterm.run, "registry": registry.run, "slowloris": slowloris.run,
              "badinput": badinput.run, "flood": flood.run}
    args = parse_args(argv)
    ctx = Context(args)
    atexit.register(ctx.kill_servers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    done = []
    wall0 = time.time()
    for key in [k.strip() for k in args.only.split(",") if k.strip()]:
        t0 = time.time()
        log("---- %s" % key)
        try:
            t = faults[key](ctx)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            t = Test(key, "crashed")
            t.check("test ran", False, short_error(e), "no exception")
        t.wall = round(time.time() - t0, 1)
        done.append(t)
        log("---- %s: %s in %.1f s" % (key, "PASS" if t.ok else "FAIL", t.wall))
    ok = report(done, args.short, round(time.time() - wall0, 1))
    return 0 if ok else 1
