"""d. Slowloris and idle connections: hundreds of idle TLS connections, raw TCP without a handshake, headers
trickled a byte a second, connections over --max-connections; a normal client measured meanwhile."""
import queue, select, socket, ssl, threading, time

from .harness import Loop, Server, Test, join_loops, log, r3, run_loops, short_error, summary


class Gauge(threading.Thread):
    """Samples the open-connections gauge and the server's open files every 200 ms: the maxima."""

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


def open_many(ctx, n, kind, watcher, workers=4):
    """Opens n connections (TLS unless kind is raw) from a few threads; returns the number that failed."""
    failures = []

    def one(_):
        t = time.time()
        try:
            if kind == "raw":
                sock = socket.create_connection(("127.0.0.1", ctx.port), timeout=5)
            else:
                sock = ctx.tls_open(timeout=5)
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


def run(ctx):
    t = Test("d-slowloris", "idle TLS connections, raw TCP without handshake, headers trickled 1 byte/s, connections over the limit")
    if ctx.short:
        maxconn, idle_n, raw_n, trickle_n, extra_n, idle_to, req_to = 300, 250, 10, 20, 50, 10, 5
    else:
        maxconn, idle_n, raw_n, trickle_n, extra_n, idle_to, req_to = 600, 500, 20, 30, 100, 30, 10
    # --first-request-timeout equal to the idle timeout: idle TLS connections close at one known time
    # (LimitTests covers the first-request timeout on its own).
    srv = Server(ctx, "slowloris", ["--max-connections", str(maxconn), "--idle-timeout", "%ds" % idle_to, "--request-timeout", "%ds" % req_to,
                               "--first-request-timeout", "%ds" % idle_to])
    m0 = srv.metrics()
    fds0 = srv.status().get("fds")
    results, stop = [], threading.Event()
    loops = [Loop(ctx, "normal%d" % i, lambda uid: ("/validate", ctx.catalog_body(uid), {}), results, stop, rate=100) for i in range(2)]
    gstop = threading.Event()
    gauge = Gauge(srv, gstop)
    gauge.start()
    run_loops(loops)
    time.sleep(3)
    trickle_text = b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Padding: " + b"a" * 200
    watcher = Watcher(trickle_text)
    watcher.start()
    flood_start = time.time()
    fail_raw = open_many(ctx, raw_n, "raw", watcher, 1)
    fail_idle = open_many(ctx, idle_n, "idle", watcher)
    fail_trickle = open_many(ctx, trickle_n, "trickle", watcher, 2) + open_many(ctx, 5, "slowbody", watcher, 1)
    opened_at = time.time()
    time.sleep(0.3)
    open_now = len(loops) + watcher.open_count()
    # Over the limit: each takes the slot of the longest-idle connection, which is closed; none is refused.
    fail_extra = open_many(ctx, extra_n, "extra", watcher, 2)
    extra_done = time.time()
    log("slowloris: opened %d raw, %d idle, %d trickle in %.1f s (failures %d/%d/%d); %d open; %d of %d extra refused in the handshake" % (
        raw_n, idle_n, trickle_n, opened_at - flood_start, len(fail_raw), len(fail_idle), len(fail_trickle), open_now, len(fail_extra), extra_n))
    deadline = time.time() + max(idle_to, 10, req_to) + 6
    while time.time() < deadline and watcher.open_count() > 0:
        time.sleep(0.2)
    flood_end = time.time()
    time.sleep(1)
    join_loops(loops, stop)
    ctx.dump("slowloris", results)
    watcher.stop.set()
    watcher.join(5)
    socks = watcher.socks
    after_new = None
    try:
        after_new = ctx.handshake_serial() is not None
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

