#!/usr/bin/env python3
"""Sends each body of bodies.py once and checks the answer (status 200, allowed, warnings).

Usage: probe.py PORT CA_FILE BODIES_DIR LABEL   Prints one JSON array of results.
"""
import http.client, json, os, ssl, sys, time

port, ca, bodies, label = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
expect = json.load(open(os.path.join(bodies, "expect.json")))
ctx = ssl.create_default_context(cafile=ca)
results = []
for name, e in sorted(expect.items()):
    body = open(os.path.join(bodies, name + ".json"), "rb").read()
    r = {"probe": label, "stream": name}
    t = time.time()
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=15)
        c.request("POST", e["path"], body=body, headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        data = resp.read()
        c.close()
        r["status"] = resp.status
        response = json.loads(data)["response"]
        warnings = " ".join(response.get("warnings", []))
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
        r["ok"] = not problems
        if problems:
            r["problems"] = problems
    except Exception as exc:  # noqa: BLE001 - every failure is a result here
        r["ok"] = False
        r["problems"] = [repr(exc)]
    r["ms"] = round((time.time() - t) * 1000, 1)
    results.append(r)
print(json.dumps(results))
