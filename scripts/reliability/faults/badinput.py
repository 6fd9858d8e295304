"""e. Bad inputs, with the body limits the shipped Deployment sets: 100 MiB bodies (Content-Length and
chunked), 100,000-level nesting, a 50 MiB JSON string, 1 MiB of headers, bodies past --max-buffered-bytes;
peak RSS against the Deployment's memory limit."""
import json, re, select, socket, ssl, time

from .harness import MIB, Server, Test, log, r3


def send_raw(ctx, head, chunks, timeout=60.0):
    """Sends a request (head bytes, then body chunks) on a fresh TLS connection while reading the answer.
    Returns status, message, seconds to the answer, body bytes sent, how it ended."""
    s = ctx.tls_open()
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



def run(ctx):
    deploy, limit_mib, flags = ctx.deploy, ctx.memory_limit_mib, ctx.deploy_flags
    budget = int(deploy["env"].get("NONROOT_ADMISSION_MAX_BUFFERED_BYTES", 128 * MIB))
    t = Test("e-badinput", "oversized and hostile bodies, with the body limits of deploy/base (%s; else the defaults: --max-body-bytes 7 MiB, --max-buffered-bytes 128 MiB)" % (" ".join(flags) or "none set"))
    srv = Server(ctx, "badinput", flags)
    ctx.normal_ok()
    st0 = srv.status()
    m0 = srv.metrics()
    cases = []

    def case(name, expect_status, expect_text, head, chunks, timeout=60):
        before = srv.status()
        res = send_raw(ctx, head, chunks, timeout)
        alive = srv.proc.poll() is None
        ok_after = ctx.normal_ok()
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
    # Not in the list, but the same family: 1 MiB of request headers (llhttp's limit is 80 KiB).
    before = srv.status()
    hdr = head_for(length=2)[:-2] + b"".join(b"X-Flood-%05d: %s\r\n" % (i, b"h" * 1000) for i in range(1024)) + b"\r\n"
    res = send_raw(ctx, hdr, [b"{}"], 30)
    ok_after = ctx.normal_ok() and srv.proc.poll() is None
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
    max_body = ctx.max_body
    part = max_body - 2048   # plus the 1 KiB sent last: just under --max-body-bytes
    conns = budget // part + 6
    held = []
    budget_started = time.time()
    for i in range(conns):
        try:
            s = ctx.tls_open()
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
    alive = srv.proc.poll() is None and ctx.normal_ok()
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
    srv2 = Server(ctx, "badinput-64m", ["--max-body-bytes", str(64 * MIB)])
    ctx.normal_ok()
    b0 = srv2.status()
    res = send_raw(ctx, head_for(length=big_len), gen_big_string(50 * MIB), 120)
    b1 = srv2.status()
    alive2 = srv2.proc.poll() is None and ctx.normal_ok()
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

