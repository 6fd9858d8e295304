#!/usr/bin/env python3
"""Writes the request bodies the soak and fault scripts send, and the catalog they serve with.

Usage: bodies.py REPO OUTDIR PLAIN_HOSTPORT FAULTS_HOSTPORT TLS_HOSTPORT

OUTDIR/catalog.yaml   Examples/images.yaml + Benchmarks/Fixtures/images.yaml (one catalog)
OUTDIR/<name>.json    one AdmissionReview per stream (see STREAMS below)
OUTDIR/expect.json    {name: {"path": ..., "allowed": bool, "needs": "found"|"unresolved"|None,
                      "message": the exact status.message of a denial (or of a dry-run's would-deny)}}

Every image outside the catalog is on 127.0.0.1 (the registry fixture) or on a registry that the server's
--registry-allowlist refuses without any network traffic (registry.invalid): nothing leaves the machine.
"""
import json, os, shutil, sys

repo, out, plain, faults, tls = sys.argv[1:6]
os.makedirs(out, exist_ok=True)

def load(path):
    with open(os.path.join(repo, path)) as f:
        return json.load(f)

# One catalog: the examples' and the benchmark fixture's images.
lines = ["images:"]
for path in ("Examples/images.yaml", "Benchmarks/Fixtures/images.yaml"):
    with open(os.path.join(repo, path)) as f:
        for line in f:
            if line.startswith("  ") and not line.lstrip().startswith("#"):
                lines.append(line.rstrip("\n"))
with open(os.path.join(out, "catalog.yaml"), "w") as f:
    f.write("\n".join(lines) + "\n")

def pod_review(uid, name, images, run_as_non_root=True):
    """A realistic Pod CREATE review whose containers use `images` (one container each)."""
    review = load("Examples/reviews/01-allowed-numeric-user.json")
    request = review["request"]
    request["uid"] = uid
    request["name"] = name
    obj = request["object"]
    obj["metadata"]["name"] = name
    obj["metadata"]["labels"] = {"app": name}
    obj["spec"]["containers"] = [
        {"name": "c%d" % i, "image": image, "ports": [{"containerPort": 8080 + i}],
         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
        for i, image in enumerate(images)]
    obj["spec"]["securityContext"] = {"runAsNonRoot": run_as_non_root}
    return review

def write(name, review):
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(review, f, indent=1)

def copy(name, path):
    """The repository's file byte for byte (its size is part of the load)."""
    shutil.copyfile(os.path.join(repo, path), os.path.join(out, name + ".json"))

expect = {}

# --- streams of the soak (name -> path, expected answer) ---
copy("allowed", "Benchmarks/Fixtures/realistic-pod-review.json")        # 6.6 KB, allowed
expect["allowed"] = {"path": "/validate", "allowed": True, "needs": None}
# The denials' messages, byte for byte (as `replay --images Examples/images.yaml` prints them).
copy("denied", "Examples/reviews/02-denied-image-runs-as-root.json")
expect["denied"] = {"path": "/validate", "allowed": False, "needs": None, "message":
    'container has runAsNonRoot and image will run as root (pod: "web-5d8f7c9b4-7hm2p_shop(3c1f2a44-8b0e-4c5d-9e6f-0a1b2c3d4e02)", container: nginx)'}
copy("dryrun", "Examples/reviews/03-denied-non-numeric-user.json")
expect["dryrun"] = {"path": "/validate/dry-run", "allowed": True, "needs": None, "warning": "would deny (dry-run)", "message":
    'container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "shop-frontend-0_shop(3c1f2a44-8b0e-4c5d-9e6f-0a1b2c3d4e03)", container: app)'}
copy("workload", "Examples/reviews/05-denied-deployment-template.json")
expect["workload"] = {"path": "/validate", "allowed": False, "needs": None, "message":
    'container has runAsNonRoot and image will run as root (deployment: "shop/worker", container: migrate); '
    'container\'s runAsUser breaks non-root policy (deployment: "shop/worker", container: worker)'}
write("unresolved", pod_review("soak-unresolved-0001", "unknown-image", ["registry.invalid/team/app:1.0"]))
expect["unresolved"] = {"path": "/validate", "allowed": True, "needs": "unresolved", "warning": "cannot verify the USER"}
# Found through the registries: plain HTTP, TLS with the fixture's CA, and the counting proxy (plain).
write("registry", pod_review("soak-registry-0001", "from-registry", [
    "%s/v2s2/users:user-1000" % plain, "%s/oci/users:user-65532" % tls, "%s/v2s2/users:user-64198" % faults]))
expect["registry"] = {"path": "/validate?timeout=10s", "allowed": True, "needs": "found"}
# A tag that does not exist (through the counting proxy): a failure, remembered for --registry-failure-ttl.
write("missingtag", pod_review("soak-missingtag-0001", "missing-tag", ["%s/v2s2/users:no-such-tag" % faults]))
expect["missingtag"] = {"path": "/validate?timeout=10s", "allowed": True, "needs": "unresolved", "warning": "cannot verify the USER"}

with open(os.path.join(out, "expect.json"), "w") as f:
    json.dump(expect, f, indent=1)
