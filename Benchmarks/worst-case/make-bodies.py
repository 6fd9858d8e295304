#!/usr/bin/env python3
"""Writes the worst valid AdmissionReviews the apiserver can send, and hostile shapes, to a directory.

Usage: make-bodies.py OUTDIR [--object-bytes N]     (default N = 3 MiB, the apiserver's request limit)

Valid reviews (the apiserver accepts the object: every field is a real Pod field):
  create-containers   Pod CREATE: as many containers as fit, each its own image, no runAsUser,
                      runAsNonRoot at pod level (every container needs an image lookup)
  update-containers   UPDATE: object and oldObject both such pods, every image changed
  create-args         Pod CREATE: one container whose args are empty strings (densest valid JSON: 3 bytes a value)
  update-args         UPDATE with object and oldObject both dense args (the largest node count a review carries)
  create-labels       Pod CREATE: labels with as many short keys as fit
  create-annotation   Pod CREATE: one annotation holding one long string
Hostile (not reviews the apiserver sends; for floods and fault tests):
  dense-array         a top-level array of zeros (one node per 2 bytes)
  deep-nesting        arrays nested past the parser's depth limit
"""
import json, os, sys

def review(uid, operation, obj, old=None):
    req = {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": obj["metadata"]["name"], "namespace": "shop", "operation": operation,
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
        "object": obj, "dryRun": False,
    }
    if old is not None:
        req["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}

def pod(name, containers, metadata_extra=None):
    md = {"name": name, "namespace": "shop", "uid": "5b0e7f5e-0000-4000-8000-000000000001"}
    md.update(metadata_extra or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"securityContext": {"runAsNonRoot": True}, "containers": containers}}

def dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()

def fill(make, limit):
    """The largest n (by doubling then bisection) with len(make(n)) <= limit."""
    lo, hi = 1, 2
    while len(make(hi)) <= limit:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(make(mid)) <= limit: lo = mid
        else: hi = mid
    return lo

def main():
    out = sys.argv[1]
    limit = 3 << 20
    if "--object-bytes" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--object-bytes") + 1])
    os.makedirs(out, exist_ok=True)
    def containers(n, tag="1"):
        return [{"name": f"c{i}", "image": f"registry.example/team/app{i}:{tag}"} for i in range(n)]
    many = lambda n, tag="1": pod("web", containers(n, tag))
    n = fill(lambda n: dump(many(n)), limit)
    bodies = {
        "create-containers": review("uid-create-containers", "CREATE", many(n)),
        "update-containers": review("uid-update-containers", "UPDATE", many(n, "2"), many(n, "1")),
    }
    args = lambda n: pod("web", [{"name": "app", "image": "registry.example/app:1", "args": [""] * n}])
    n = fill(lambda n: dump(args(n)), limit)
    bodies["create-args"] = review("uid-create-args", "CREATE", args(n))
    changed = args(n); changed["spec"]["containers"][0]["image"] = "registry.example/app:2"
    bodies["update-args"] = review("uid-update-args", "UPDATE", changed, args(n))
    labels = lambda n: pod("web", containers(1), {"labels": {f"k{i}": "" for i in range(n)}})
    n = fill(lambda n: dump(labels(n)), limit)
    bodies["create-labels"] = review("uid-create-labels", "CREATE", labels(n))
    note = lambda n: pod("web", containers(1), {"annotations": {"note": "x" * n}})
    n = fill(lambda n: dump(note(n)), limit)
    bodies["create-annotation"] = review("uid-create-annotation", "CREATE", note(n))
    for name, body in bodies.items():
        with open(os.path.join(out, name + ".json"), "wb") as f:
            f.write(dump(body))
    with open(os.path.join(out, "dense-array.json"), "wb") as f:
        f.write(b"[" + b"0," * (limit // 2 - 1) + b"0]")
    with open(os.path.join(out, "deep-nesting.json"), "wb") as f:
        f.write(b"[" * 100_000 + b"]" * 100_000)

if __name__ == "__main__":
    main()
