"""f. Floods of maximum-size bodies: with the Deployment's limits, 32 connections post bodies of each JSON shape
back to back while a client sends an ordinary review at 50/s."""
import json, threading, time

from .harness import JSON_HEADERS, MIB, Loop, Server, Test, r3, summary


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

    def __init__(self, ctx, body, stop, counts):
        super().__init__(daemon=True)
        self.ctx, self.body, self.stop, self.counts = ctx, body, stop, counts

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = self.ctx.https(20)
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


def run(ctx):
    deploy, limit_mib, flags = ctx.deploy, ctx.memory_limit_mib, ctx.deploy_flags
    max_body = ctx.max_body
    connections = 32
    seconds = 4 if ctx.short else 15
    t = Test("f-flood", "%d connections sending maximum-size bodies (%.1f MiB) of each JSON shape for %d s each, with the Deployment's limits (%s)" % (
        connections, max_body / MIB, seconds, " ".join(flags) or "defaults"))
    srv = Server(ctx, "flood", flags + ["--log-level", "warning"])
    ctx.normal_ok()
    shapes = flood_shapes(max_body - 1024)
    rows = []
    for name, body, expected in shapes:
        stop = threading.Event()
        counts = {}
        flooders = [Flooder(ctx, body, stop, counts) for _ in range(connections)]
        ordinary = []
        normal = Loop(ctx, "normal-" + name.split()[0], lambda uid: ("/validate", ctx.catalog_body(uid), {}), ordinary, stop, rate=50)
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
        ctx.dump("flood", ordinary)
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

