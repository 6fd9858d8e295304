#!/usr/bin/env python3
"""Sends each body of bodies.py and checks the answer: status 200, allowed, warnings, and for a denial
(or a dry-run's would-deny) the exact message of expect.json, byte for byte.

Usage: probe.py PORT CA_FILE BODIES_DIR LABEL [UNTIL_EPOCH INTERVAL_S]
  Without UNTIL: one round; prints one JSON array of results.
  With UNTIL: rounds every INTERVAL_S seconds until UNTIL_EPOCH (the soak's load window), so that the
  decisions are checked under load; prints one JSON object summarising them per stream, with the first
  problems found.
"""
import http.client, json, os, ssl, sys, time

port, ca, bodies, label = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
until = float(sys.argv[5]) if len(sys.argv) > 5 else None
interval = float(sys.argv[6]) if len(sys.argv) > 6 else 0.5
expect = json.load(open(os.path.join(bodies, "expect.json")))
payloads = {name: open(os.path.join(bodies, name + ".json"), "rb").read() for name in expect}
ctx = ssl.create_default_context(cafile=ca)


def check(name, e):
    """One request; returns the result with `ok` and, on failure, `problems`."""
    r = {"probe": label, "stream": name}
    t = time.time()
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=15)
        c.request("POST", e["path"], body=payloads[name], headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        data = resp.read()
        c.close()
        r["status"] = resp.status
        response = json.loads(data)["response"]
        warning_list = response.get("warnings", [])
        warnings = " ".join(warning_list)
        r["allowed"] = response["allowed"]
        problems = []
        if resp.status != 200:
            problems.append("status %d" % resp.status)
        if response["allowed"] != e["allowed"]:
            problems.append("allowed=%s, expected %s" % (response["allowed"], e["allowed"]))
        if e.get("warning") and e["warning"] not in warnings:
            problems.append("no warning %r" % e["warning"])
        if e.get("needs") == "found" and "cannot verify" in warnings:
            problems.append("registry image not found: %s" % warnings[:300])
        message = e.get("message")
        if message is not None and not e["allowed"]:
            status = response.get("status") or {}
            if status.get("message") != message:
                problems.append("status.message %r, expected %r" % (status.get("message"), message))
            if status.get("code") != 403 or status.get("reason") != "Forbidden":
                problems.append("status code %r reason %r, expected 403 Forbidden" % (status.get("code"), status.get("reason")))
            r["denied_exact"] = not problems
        elif message is not None:
            if "would deny (dry-run): " + message not in warning_list:
                problems.append("no exact would-deny warning for %r" % message)
            if (response.get("auditAnnotations") or {}).get("would-deny") != message:
                problems.append("auditAnnotations would-deny %r" % (response.get("auditAnnotations") or {}).get("would-deny"))
        r["ok"] = not problems
        if problems:
            r["problems"] = problems
    except Exception as exc:  # noqa: BLE001 - every failure is a result here
        r["ok"] = False
        r["problems"] = [repr(exc)]
    r["ms"] = round((time.time() - t) * 1000, 1)
    return r


if until is None:
    print(json.dumps([check(name, e) for name, e in sorted(expect.items())]))
    sys.exit(0)

summary = {"probe": label, "rounds": 0, "checked": 0, "failed": 0, "denied_exact": 0, "first": None, "last": None,
           "streams": {name: {"checked": 0, "failed": 0} for name in expect}, "problems": []}
while time.time() < until:
    started = time.time()
    for name, e in sorted(expect.items()):
        r = check(name, e)
        stream = summary["streams"][name]
        stream["checked"] += 1
        summary["checked"] += 1
        summary["denied_exact"] += 1 if r.get("denied_exact") else 0
        if not r["ok"]:
            stream["failed"] += 1
            summary["failed"] += 1
            if len(summary["problems"]) < 10:
                summary["problems"].append({"stream": name, "at": round(started, 3), "problems": r["problems"]})
    summary["rounds"] += 1
    summary["first"] = summary["first"] or round(started, 3)
    summary["last"] = round(started, 3)
    time.sleep(max(0.0, interval - (time.time() - started)))
print(json.dumps(summary))
