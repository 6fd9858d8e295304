"""c. The registry under load: reviews that need the registry while the plain registry is SIGKILLed and
restarted, and the fault proxy hangs, answers 429 and 500; --unresolved warn, then deny."""
import os, signal, subprocess, threading, time

from .harness import Loop, Server, Test, http_get, join_loops, pct, pod_body, r3, run_loops, summary


def regfix_pids(ctx):
    out = {}
    with open(os.path.join(ctx.regfix_dir, "pids")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = int(parts[1])
    return out


def kill_plain_registry(ctx):
    pid = regfix_pids(ctx)["plain"]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert ctx.regfix_dir.encode() in f.read(), "pid %d is not the fixture's plain registry" % pid
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


def start_plain_registry(ctx):
    """As scripts/registry-fixture.sh launches it; the PID is added to its pids file so 'stop' ends it."""
    logf = open(os.path.join(ctx.regfix_dir, "logs", "plain.log"), "ab")
    proc = subprocess.Popen(["docker-registry", "serve", os.path.join(ctx.regfix_dir, "config", "plain.yml")],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    with open(os.path.join(ctx.regfix_dir, "pids"), "a") as f:
        f.write("plain %d\n" % proc.pid)
    for _ in range(100):
        if http_get("http://%s/v2/" % ctx.plain, 1)[0] == 200:
            break
        time.sleep(0.05)
    return proc.pid


def run_registry_phases(ctx, unresolved, phases, per_phase):
    """Runs the phases against one server; returns per-phase records."""
    srv = Server(ctx, "registry-" + unresolved, ctx.registry_flags + ["--unresolved", unresolved, "--registry-tag-ttl", "2s",
                                                              "--registry-failure-ttl", "1s", "--registry-timeout", "3s"])
    state = {"image": None, "phase": None}
    results, catalog_results, stop = [], [], threading.Event()

    def make(uid):
        return "/validate?timeout=2s", pod_body(uid, [state["image"]]), {"phase": state["phase"]}
    loops = [Loop(ctx, "reg%d" % i, make, results, stop, rate=25, timeout=10) for i in range(8)]
    loops.append(Loop(ctx, "catalog", lambda uid: ("/validate?timeout=2s", ctx.catalog_body(uid), {"phase": state["phase"]}), catalog_results, stop, rate=100))
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


def run(ctx):
    t = Test("c-registry", "reviews whose image needs the registry, on /validate?timeout=2s, while the registry fails")
    per = 4 if ctx.short else 10
    plain_img = "%s/v2s2/users:user-1000" % ctx.plain
    via_proxy = "%s/v2s2/users:user-1000" % ctx.faults
    fault = lambda kind: "%s/fault/%s/v2s2/users:user-1000" % (ctx.faults, kind)  # noqa: E731
    restarted = {}
    phases = [
        ("baseline", plain_img, None, "found"),
        # A cached image keeps its last answer while its tag cannot be re-checked (stale if error);
        # an image never looked up is "cannot verify".
        ("killed", plain_img, lambda: "killed pid %d" % kill_plain_registry(ctx), "stale"),
        ("killed-uncached", "%s/v2s2/users:user-65532" % ctx.plain, None, "unresolved"),
        ("restarted", plain_img, lambda: "restarted as pid %d" % restarted.setdefault("pid", start_plain_registry(ctx)), "found"),
        ("hang", fault("hang"), None, "unresolved"),
        ("429", fault("429"), None, "unresolved"),
        ("500", fault("500"), None, "unresolved"),
        ("recovered", via_proxy, None, "found"),
    ]
    rows = {}
    all_results, all_catalog = [], []
    deadline_s = 2.0
    for unresolved, plist in (("warn", phases), ("deny", [("deny-hang", fault("hang"), None, "unresolved"), ("deny-recovered", via_proxy, None, "found")])):
        srv, marks, results, catalog, exit_code, metrics = run_registry_phases(ctx, unresolved, plist, per)
        ctx.dump("registry-" + unresolved, [dict(m, kind="phase-start") for m in marks] + results + catalog)
        t.figures.setdefault("registry_requests_by_status", {})[unresolved] = {
            k.split("{", 1)[1].rstrip("}"): int(v) for k, v in metrics.items() if k.startswith("nonroot_admission_registry_requests_total{") and v}
        t.figures.setdefault("lookups", {})[unresolved] = {
            k.split("{", 1)[1].rstrip("}"): int(v) for k, v in metrics.items() if k.startswith("nonroot_admission_registry_lookups_total{")}
        all_results += results
        all_catalog += catalog
        t.check("exit status (--unresolved %s server)" % unresolved, exit_code == 0, exit_code, "0")
        for mk in marks:
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

