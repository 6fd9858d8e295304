"""b. SIGTERM mid-load: readyz, the shutdown delay, stop accepting, in-flight requests answered, exit 0, log order."""
import signal, subprocess, threading, time

from .harness import Loop, Server, Test, http_get, join_loops, log_time, pod_body, run_loops, summary


class ReadyPoller(threading.Thread):
    """Polls /readyz every 20 ms: (time, status) samples."""

    def __init__(self, ctx, stop):
        super().__init__(daemon=True)
        self.ctx, self.stop, self.samples = ctx, stop, []

    def run(self):
        while not self.stop.is_set():
            status, _ = http_get("http://127.0.0.1:%d/readyz" % self.ctx.metrics_port, 0.5)
            self.samples.append((time.time(), status))
            time.sleep(0.02)


def run(ctx):
    t = Test("b-sigterm", "SIGTERM while clients send fast (catalog) and slow (registry lookup ~3 s) reviews")
    delay = 2 if ctx.short else 5
    warm = 3 if ctx.short else 5
    srv = Server(ctx, "sigterm", ctx.registry_flags + ["--shutdown-delay", "%ds" % delay, "--shutdown-grace-period", "20s",
                                              "--registry-timeout", "3s", "--registry-failure-ttl", "1s"])
    results, stop = [], threading.Event()
    fast = lambda uid: ("/validate", ctx.catalog_body(uid), {"type": "fast"})  # noqa: E731
    # Every slow review names its own tag behind the proxy's 'slow' fault (5 s): no cache, no shared
    # flight, so each one is a lookup that ends at the 3 s --registry-timeout.
    slow = lambda uid: ("/validate?timeout=10s", pod_body(uid, ["%s/fault/slow/v2s2/users:t-%s" % (ctx.faults, uid.replace("-", ""))]), {"type": "slow"})  # noqa: E731
    loops = [Loop(ctx, "ka%d" % i, fast, results, stop, rate=60) for i in range(3)]
    loops += [Loop(ctx, "nc%d" % i, fast, results, stop, rate=20, reconnect=True) for i in range(2)]
    loops += [Loop(ctx, "slow%d" % i, slow, results, stop) for i in range(3)]
    poll_stop = threading.Event()
    poller = ReadyPoller(ctx, poll_stop)
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
    ctx.dump("sigterm", results + [{"kind": "readyz", "t": ts, "status": st} for ts, st in poller.samples] + [{"kind": "sigterm", "t": t0}])
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

