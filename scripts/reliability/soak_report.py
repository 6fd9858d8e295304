#!/usr/bin/env python3
"""Summarises a soak run: latency per window, errors, resources, the server's metrics; checks the targets.

Usage: soak_report.py RUN.json
RUN.json (written by scripts/soak.sh) names the work directory, the streams and their h2load logs, the
load window, the target rate, the sample file, the metric snapshots, the fault-proxy counters, the probes.

Prints Markdown tables, then, as the last line, one JSON object with the measured figures. Exit status 1
when a target is missed, 0 otherwise.
"""
import json, re, sys
from array import array

run = json.load(open(sys.argv[1]))
work = run["work"]
window = float(run["window_s"])
t0, t1 = float(run["load_start"]), float(run["load_end"])
duration = float(run["duration_s"])
warmup_end = t0 + run["warmup_s"]
FD_TOLERANCE, THREAD_TOLERANCE, RSS_GROWTH_MAX = run["fd_tolerance"], run["thread_tolerance"], run["rss_growth_max_pct"]
# The RSS slope after the warm-up, judged per hour (see soak.sh for why these limits).
RSS_SLOPE_MAX_MIB_H = float(run.get("rss_slope_max_mib_per_h", 2))
STREAM_RATE_MIN = 0.90


def pct(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def ms(us):
    return "-" if us is None else "%.2f" % (us / 1000.0)


# --- h2load logs ---
nwin = max(1, int((duration + window - 1e-9) // window))
win_durations = [array("l") for _ in range(nwin + 1)]
win_errors = [0] * (nwin + 1)
streams, all_durations = [], array("l")
SUMMARY = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout")
for s in run["streams"]:
    durations, non200, statuses = array("l"), 0, {}
    try:
        f = open(s["log"])
    except FileNotFoundError:
        f = []
    for line in f:
        parts = line.split()
        if len(parts) < 3:
            continue
        start_us, status, dur = int(parts[0]), int(parts[1]), int(parts[2])
        w = int((start_us / 1e6 - t0) // window)
        w = min(max(w, 0), nwin - 1)   # h2load starts a little after load_start: its tail joins the last window
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            non200 += 1
            win_errors[w] += 1
        durations.append(dur)
        win_durations[w].append(dur)
    summary = {"total": 0, "started": 0, "done": 0, "succeeded": 0, "failed": 0, "errored": 0, "timeout": 0}
    text = ""
    try:
        text = open(s["out"]).read()
    except FileNotFoundError:
        pass
    m = SUMMARY.search(text)
    if m:
        summary = dict(zip(["total", "started", "done", "succeeded", "failed", "errored", "timeout"], map(int, m.groups())))
    summary_found = m is not None
    h2_errors = summary["failed"] + summary["errored"] + summary["timeout"]
    d = sorted(durations)
    all_durations.extend(durations)
    streams.append({
        "name": s["name"], "path": s["path"], "conns": s["conns"], "rate": s["rate"], "requests": len(d),
        "achieved_rps": round(len(d) / duration, 1), "non200": non200, "h2load_errors": h2_errors,
        "errors": max(non200, h2_errors), "statuses": statuses, "exit": s.get("exit"), "summary_found": summary_found,
        "ok200": statuses.get(200, 0),
        "p50_ms": None if not d else round(pct(d, 50) / 1000, 3), "p99_ms": None if not d else round(pct(d, 99) / 1000, 3),
        "p999_ms": None if not d else round(pct(d, 99.9) / 1000, 3), "max_ms": None if not d else round(d[-1] / 1000, 3),
    })
    del d, durations

windows = []
for i in range(nwin + 1):
    d = sorted(win_durations[i])
    if i == nwin and not d:
        continue
    windows.append({"from_s": int(i * window), "requests": len(d), "rps": round(len(d) / window, 1), "errors": win_errors[i],
                    "p50_ms": None if not d else round(pct(d, 50) / 1000, 3),
                    "p99_ms": None if not d else round(pct(d, 99) / 1000, 3),
                    "p999_ms": None if not d else round(pct(d, 99.9) / 1000, 3)})
allsorted = sorted(all_durations)
total_requests = len(allsorted)
total_errors = sum(s["errors"] for s in streams)
achieved = total_requests / duration if duration else 0

# --- process samples ---
samples = []
try:
    for line in open(run["samples"]):
        samples.append(json.loads(line))
except FileNotFoundError:
    pass
during = [s for s in samples if t0 <= s["t"] <= t1 + 1]
after_warm = [s for s in during if s["t"] >= warmup_end]
before = [s for s in samples if s["t"] < t0]
post = [s for s in samples if s["t"] > t1 + 1]
res = {}
if after_warm:
    base, end = after_warm[0], after_warm[-1]
    res = {
        "rss_before_load_kib": before[-1]["rss_kib"] if before else None,
        "rss_after_warmup_kib": base["rss_kib"], "rss_end_kib": end["rss_kib"],
        "rss_max_kib": max(s["rss_kib"] for s in after_warm),
        "rss_growth_pct": round(100.0 * (end["rss_kib"] - base["rss_kib"]) / base["rss_kib"], 2),
        "hwm_end_kib": end["hwm_kib"],
        "fds_after_warmup": base["fds"], "fds_max": max(s["fds"] for s in after_warm), "fds_end": end["fds"],
        "fds_after_load": post[-1]["fds"] if post else None,
        "threads_after_warmup": base["threads"], "threads_max": max(s["threads"] for s in after_warm),
        "threads_end": end["threads"],
        "open_conns_max": max((s.get("open_conns", 0) for s in during), default=None),
        "samples": len(samples), "sample_interval_s": run["sample_interval_s"],
    }
    # RSS slope over the post-warm-up samples (least squares), KiB per minute: a leak shows as a steady climb.
    if len(after_warm) >= 3:
        xs = [s["t"] for s in after_warm]
        ys = [s["rss_kib"] for s in after_warm]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        res["rss_slope_kib_per_min"] = round(60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 1) if den else 0.0
        res["rss_slope_mib_per_h"] = round(res["rss_slope_kib_per_min"] * 60 / 1024, 2)
        res["rss_slope_window_s"] = round(xs[-1] - xs[0], 1)
    load_samples = [s for s in during if "cpu_s" in s]
    if len(load_samples) >= 2 and total_requests:
        cpu = load_samples[-1]["cpu_s"] - load_samples[0]["cpu_s"]
        span = load_samples[-1]["t"] - load_samples[0]["t"]
        res["server_cpu_pct"] = round(100 * cpu / span, 1) if span else None
        res["server_cpu_us_per_req"] = round(cpu * 1e6 / (achieved * span), 1) if span and achieved else None
    busy = [s["machine_busy_pct"] for s in during[1:] if s.get("machine_busy_pct") is not None]
    res["machine_busy_pct_mean"] = round(sum(busy) / len(busy), 1) if busy else None
    res["machine_busy_pct_max"] = max(busy) if busy else None


# --- metrics ---
def metrics(path):
    out = {}
    try:
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    except FileNotFoundError:
        pass
    return out


def msum(m, name, *subs):
    return sum(v for k, v in m.items() if k.split("{", 1)[0] == name and all(s in k for s in subs))


mb, ma = metrics(run["metrics_before"]), metrics(run["metrics_after"])


def delta(name, *subs):
    return int(msum(ma, name, *subs) - msum(mb, name, *subs))


server = {
    "reviews": delta("nonroot_admission_requests_total"),
    "allowed": delta("nonroot_admission_requests_total", 'decision="allowed"'),
    "denied": delta("nonroot_admission_requests_total", 'decision="denied"'),
    "would_deny": delta("nonroot_admission_requests_total", 'decision="would_deny"'),
    "deployment": delta("nonroot_admission_requests_total", 'kind="Deployment"'),
    "http_rejections": delta("nonroot_admission_http_rejections_total"),
    "connections_rejected": delta("nonroot_admission_connections_rejected_total"),
    "registry_lookups_found": delta("nonroot_admission_registry_lookups_total", 'result="found"'),
    "registry_lookups_unresolved": delta("nonroot_admission_registry_lookups_total", 'result="unresolved"'),
    "registry_requests": {k.split("{", 1)[1].rstrip("}"): int(v - mb.get(k, 0)) for k, v in ma.items()
                          if k.startswith("nonroot_admission_registry_requests_total{")},
    "registry_cache": {k.split("{", 1)[1].rstrip("}"): int(v - mb.get(k, 0)) for k, v in ma.items()
                       if k.startswith("nonroot_admission_registry_cache_total{")},
    "duration_count": delta("nonroot_admission_request_duration_seconds_count"),
    "open_connections_end": int(msum(ma, "nonroot_admission_open_connections")),
    "lookups_in_flight_end": int(msum(ma, "nonroot_admission_registry_lookups_in_flight")),
}
proxy = run.get("proxy_stats", {})
probes = run.get("probes", [])
probe_failures = [p for p in probes if not p.get("ok")]
log = run.get("server_log", {})

# --- targets ---
targets = []


def target(name, ok, measured, goal):
    targets.append({"target": name, "ok": bool(ok), "measured": measured, "goal": goal})


target("errors (non-200 or h2load failures)", total_errors == 0, total_errors, "0")
target("rate held", achieved >= 0.90 * run["rate"], "%.0f req/s" % achieved, ">= 90%% of %d req/s" % run["rate"])
# Every stream on its own: a stream that died early or ran slow is not hidden by the others.
for st in streams:
    problems = []
    if st["exit"] != 0:
        problems.append("exit %s" % st["exit"])
    if not st["summary_found"]:
        problems.append("no h2load summary")
    if st["errors"]:
        problems.append("%d errors" % st["errors"])
    if st["achieved_rps"] < STREAM_RATE_MIN * st["rate"]:
        problems.append("rate %.0f < %.0f" % (st["achieved_rps"], STREAM_RATE_MIN * st["rate"]))
    target("stream %s" % st["name"], not problems,
           "exit %s, %d errors, %.0f of %.0f req/s%s" % (st["exit"], st["errors"], st["achieved_rps"], st["rate"], "; " + ", ".join(problems) if problems else ""),
           "exit 0, 0 errors, >= %d%% of its rate" % round(STREAM_RATE_MIN * 100))
if res:
    slope = res.get("rss_slope_mib_per_h")
    target("RSS slope after warm-up (least squares)", slope is not None and slope <= RSS_SLOPE_MAX_MIB_H,
           "%s MiB/h (%s KiB/min over %s s)" % (slope, res.get("rss_slope_kib_per_min"), res.get("rss_slope_window_s")), "<= %g MiB/h" % RSS_SLOPE_MAX_MIB_H)
    target("RSS growth after warm-up", res["rss_growth_pct"] < RSS_GROWTH_MAX, "%.2f%% (%d -> %d KiB)" % (res["rss_growth_pct"], res["rss_after_warmup_kib"], res["rss_end_kib"]), "< %d%%" % RSS_GROWTH_MAX)
    target("open fds growth", res["fds_max"] - res["fds_after_warmup"] <= FD_TOLERANCE, "%d -> max %d" % (res["fds_after_warmup"], res["fds_max"]), "<= +%d" % FD_TOLERANCE)
    target("threads growth", res["threads_max"] - res["threads_after_warmup"] <= THREAD_TOLERANCE, "%d -> max %d" % (res["threads_after_warmup"], res["threads_max"]), "<= +%d" % THREAD_TOLERANCE)
else:
    target("process samples", False, "none", "samples during the load")
target("server counted every answer", server["reviews"] >= total_requests - total_errors, "%d reviews counted for %d answered" % (server["reviews"], total_requests - total_errors), ">= answered")
target("answers correct (probes before and after)", not probe_failures, "%d/%d ok" % (len(probes) - len(probe_failures), len(probes)), "all")
# Decisions under load, from answers read during it: every stream's body every PROBE_INTERVAL seconds,
# each denial's status.message compared byte for byte (probe.py).
during = run.get("probes_during") or {}
expect = run.get("expect", {})
denial_streams = [name for name, e in expect.items() if not e["allowed"]]
denials_checked = sum(during.get("streams", {}).get(name, {}).get("checked", 0) for name in denial_streams)
min_rounds = max(3, int(duration / 5))
target("decisions under load (probes during the load)",
       during.get("rounds", 0) >= min_rounds and during.get("failed", 1) == 0 and denials_checked > 0 and during.get("denied_exact") == denials_checked,
       "%d rounds, %d/%d answers right; %d of them denials with the exact message%s" % (
           during.get("rounds", 0), during.get("checked", 0) - during.get("failed", 0), during.get("checked", 0), during.get("denied_exact", 0),
           "; first problems: " + json.dumps(during.get("problems", [])[:3]) if during.get("problems") else ""),
       ">= %d rounds, all right, every denial exact" % min_rounds)
# Every load request's decision, from the server's counters: the denied streams' 200s are exactly the
# denials, the dry-run stream's are the would-denies, the rest are allowed. The probes during the load
# are counted too; h2load may stop with up to one request per connection answered but not logged.
by_stream = {st["name"]: st for st in streams}
probe_counts = {name: v.get("checked", 0) for name, v in during.get("streams", {}).items()}
def expected_decisions(kind):
    names = [n for n, e in expect.items() if kind == ("would_deny" if n == "dryrun" else ("allowed" if e["allowed"] else "denied"))]
    return (sum(by_stream[n]["ok200"] for n in names if n in by_stream) + sum(probe_counts.get(n, 0) for n in names),
            sum(by_stream[n]["conns"] for n in names if n in by_stream))
decision_rows = []
decisions_ok = bool(expect)
for kind in ("allowed", "denied", "would_deny"):
    want, slack = expected_decisions(kind)
    got = server[kind]
    decisions_ok = decisions_ok and want <= got <= want + slack
    decision_rows.append("%s %d (streams + probes %d..%d)" % (kind, got, want, want + slack))
target("server decisions match the streams", decisions_ok, "; ".join(decision_rows), "each within answered..answered+conns")
target("server exit after SIGTERM", run.get("server_exit") == 0, run.get("server_exit"), "0")
target("no error-level server log lines", log.get("error_lines", 0) == 0, log.get("error_lines"), "0")
ok = all(t["ok"] for t in targets)

# --- print ---
print("\n## Soak: %d s at %d req/s target (%s), %d connections, window %ds\n" % (duration, run["rate"], run["rate_source"], sum(s["conns"] for s in run["streams"]), window))
print("| window from (s) | requests | req/s | errors | p50 ms | p99 ms | p99.9 ms |")
print("|---|---|---|---|---|---|---|")
for w in windows:
    print("| %d | %d | %.0f | %d | %s | %s | %s |" % (w["from_s"], w["requests"], w["rps"], w["errors"],
                                                    "-" if w["p50_ms"] is None else "%.2f" % w["p50_ms"],
                                                    "-" if w["p99_ms"] is None else "%.2f" % w["p99_ms"],
                                                    "-" if w["p999_ms"] is None else "%.2f" % w["p999_ms"]))
print("\n| stream | path | conns | target req/s | achieved req/s | requests | errors | exit | p50 ms | p99 ms | p99.9 ms | max ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for s in streams:
    print("| %s | %s | %d | %.0f | %.0f | %d | %d | %s | %s | %s | %s | %s |" % (s["name"], s["path"], s["conns"], s["rate"], s["achieved_rps"], s["requests"], s["errors"], s["exit"], s["p50_ms"], s["p99_ms"], s["p999_ms"], s["max_ms"]))
print("| **all** | | %d | %d | %.0f | %d | %d | | %s | %s | %s | %s |" % (sum(s["conns"] for s in streams), run["rate"], achieved, total_requests, total_errors,
                                                                 ms(pct(allsorted, 50)), ms(pct(allsorted, 99)), ms(pct(allsorted, 99.9)), ms(allsorted[-1] if allsorted else None)))
if res:
    print("\nResources (sampled every %ss): RSS %d KiB before load, %d KiB after warm-up (%ds), %d KiB at end (%+.2f%%, slope %s KiB/min), peak HWM %d KiB; "
          "fds %d -> max %d (after load %s); threads %d -> max %d; server CPU %s%% of one core, %s µs/request; open connections max %s; "
          "machine (2 CPUs, everything on it) busy %s%% on average, %s%% at most."
          % (run["sample_interval_s"], res["rss_before_load_kib"] or 0, res["rss_after_warmup_kib"], run["warmup_s"], res["rss_end_kib"], res["rss_growth_pct"],
             res.get("rss_slope_kib_per_min"), res["hwm_end_kib"], res["fds_after_warmup"], res["fds_max"], res["fds_after_load"],
             res["threads_after_warmup"], res["threads_max"], res.get("server_cpu_pct"), res.get("server_cpu_us_per_req"), res["open_conns_max"],
             res.get("machine_busy_pct_mean"), res.get("machine_busy_pct_max")))
print("Server metrics over the load: %d reviews (allowed %d, denied %d, would_deny %d; Deployment %d), http rejections %d, connections rejected %d; "
      "registry lookups found %d / unresolved %d; registry requests %s; cache %s."
      % (server["reviews"], server["allowed"], server["denied"], server["would_deny"], server["deployment"], server["http_rejections"],
         server["connections_rejected"], server["registry_lookups_found"], server["registry_lookups_unresolved"],
         json.dumps(server["registry_requests"]), json.dumps(server["registry_cache"])))
if proxy:
    print("Registry (counting proxy) requests during the load: " + ", ".join("%s %s: %d" % (k.split(" ", 1)[0], k.split(" ", 1)[1], v) for k, v in sorted(proxy.items())))
if log:
    print("Server log: %d decision lines, %d other lines (levels %s)" % (log.get("decision_lines", 0), log.get("other_lines", 0), json.dumps(log.get("levels", {}))))
print("\n| target | goal | measured | result |")
print("|---|---|---|---|")
for t in targets:
    print("| %s | %s | %s | %s |" % (t["target"], t["goal"], t["measured"], "PASS" if t["ok"] else "**FAIL**"))
print("\nsoak: %s" % ("PASS" if ok else "FAIL"))
print(json.dumps({
    "test": "soak", "ok": ok, "duration_s": duration, "rate_target": run["rate"], "rate_source": run["rate_source"],
    "saturation_rps": run.get("saturation_rps"), "achieved_rps": round(achieved, 1), "requests": total_requests, "errors": total_errors,
    "p50_ms": None if not allsorted else round(pct(allsorted, 50) / 1000, 3), "p99_ms": None if not allsorted else round(pct(allsorted, 99) / 1000, 3),
    "p999_ms": None if not allsorted else round(pct(allsorted, 99.9) / 1000, 3), "max_ms": None if not allsorted else round(allsorted[-1] / 1000, 3),
    "windows": windows, "streams": streams, "resources": res, "server_metrics": server, "proxy": proxy,
    "server_log": log, "probes_failed": len(probe_failures), "probes_during": during, "server_exit": run.get("server_exit"),
    "targets": {t["target"]: t["ok"] for t in targets}, "wall_s": run.get("wall_s"),
}, separators=(",", ":")))
sys.exit(0 if ok else 1)
