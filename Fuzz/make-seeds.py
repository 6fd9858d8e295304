#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/, at run time.

Usage: Fuzz/make-seeds.py ROOT OUT

Sources (nothing of ../shared is ever committed; it is read in place):
- Fuzz/Seeds/<target>/: small hand-written seeds. For FuzzRegistryDocuments and FuzzReviewInput a
  file name starting with two hex digits and '-' ("0a-manifests.yaml") means: prepend that byte,
  the target's selector (see the target's source).
- Examples/ (reviews, manifests, image catalog) and Benchmarks/Fixtures/.
- The conformance data, from $NONROOT_CONFORMANCE_DIR or ROOT/../shared/conformance (skipped with a
  note when neither exists): recorded AdmissionReviews, Pod Security fixtures (wrapped into
  AdmissionReviews when PyYAML is available), the kubelet's verifyRunAsNonRoot table.
- Test inputs: the image references of Tests/ImageResolutionTests/ImageReferenceTests.swift and the
  config USERs of Tests/NonRootPolicyTests/ImageUserTests.swift.
"""
import glob
import hashlib
import json
import os
import re
import sys

ROOT, OUT = sys.argv[1], sys.argv[2]
TARGETS = ["FuzzReview", "FuzzJSONDifferential", "FuzzImageReference", "FuzzImageUser", "FuzzRegistryDocuments", "FuzzReviewInput", "FuzzYAML"]
SELECTED = {"FuzzRegistryDocuments", "FuzzReviewInput"}
# FuzzReviewInput selectors: extension index (json, jsonl, yaml, "", log, ndjson, yml, txt) + 8 for manifests.
INPUT_JSON, INPUT_YAML_MANIFESTS = 0x00, 0x0A
# Images of the FuzzReview catalog, to make wrapped fixtures reach every kind of USER.
CATALOG_IMAGES = ["nginx:1.27", "busybox", "ghcr.io/acme/api:2", "ghcr.io/acme/api:2.4.1", "mcr.microsoft.com/dotnet/samples:aspnetapp",
                  "registry.k8s.io/pause:3.9", "quay.io/big/uid:1", "quay.io/neg/uid:1", "ghcr.io/acme/multi:1.0"]

counts = {t: 0 for t in TARGETS}
seen = {t: set() for t in TARGETS}
sources = {t: set() for t in TARGETS}


def add(target, source, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(OUT, target)
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()
    path = os.path.join(directory, source + "-" + digest[:16])
    if digest not in seen[target]:
        seen[target].add(digest)
        with open(path, "wb") as f:
            f.write(data)
        counts[target] += 1
        sources[target].add(source)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def images_in(text):
    return set(re.findall(r'"?image"?\s*:\s*"?([^"\s,}]+)"?', text))


def review(obj, uid, kind):
    group, _, version = kind[0].rpartition("/") if "/" in kind[0] else ("", "", kind[0])
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": group, "version": version, "kind": kind[1]},
        "namespace": "default", "operation": "CREATE", "userInfo": {"username": "fuzz"}, "object": obj}}, separators=(",", ":"))


# Hand-written seeds.
for target in TARGETS:
    for path in sorted(glob.glob(os.path.join(ROOT, "Fuzz/Seeds", target, "*"))):
        data = read(path)
        name = os.path.basename(path)
        if target in SELECTED:
            match = re.match(r"^([0-9a-f]{2})-", name)
            if not match:
                sys.exit(f"make-seeds: {path}: name must start with a two-digit hex selector and '-'")
            data = bytes([int(match.group(1), 16)]) + data
        add(target, "hand", data)

# Examples and benchmark fixtures.
reviews = sorted(glob.glob(os.path.join(ROOT, "Examples/reviews/*.json")) + glob.glob(os.path.join(ROOT, "Benchmarks/Fixtures/*.json")))
for path in reviews:
    data = read(path)
    add("FuzzReview", "examples", data)
    add("FuzzJSONDifferential", "examples", data)
    add("FuzzReviewInput", "examples", bytes([INPUT_JSON]) + data)
    for image in images_in(data.decode()):
        add("FuzzImageReference", "examples", image)
for path in glob.glob(os.path.join(ROOT, "Examples/manifests/*.yaml")):
    data = read(path)
    add("FuzzReviewInput", "examples", bytes([INPUT_YAML_MANIFESTS]) + data)
    for image in images_in(data.decode()):
        add("FuzzImageReference", "examples", image)
for path in glob.glob(os.path.join(ROOT, "Examples/images.yaml")) + glob.glob(os.path.join(ROOT, "Benchmarks/Fixtures/images.yaml")):
    for line in read(path).decode().splitlines():
        # "  REFERENCE: USER" entries of the catalog (the reference may itself hold ':').
        if line.startswith("  ") and not line.strip().startswith("#") and ": " in line:
            key, value = line.strip().rsplit(": ", 1)
            add("FuzzImageReference", "examples", key.strip('"'))
            add("FuzzImageUser", "examples", value.strip().strip('"'))

# Every YAML file of the repository (manifests, catalogs, the deploy/ kustomizations) for FuzzYAML.
for path in sorted(glob.glob(os.path.join(ROOT, "Examples", "**", "*.yaml"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "Benchmarks/Fixtures/*.yaml"))):
    add("FuzzYAML", "repo", read(path))

# Test inputs.
hexes = {"sha256Hex": "0123456789abcdef" * 4, "sha384Hex": "0123456789abcdef" * 6, "sha512Hex": "0123456789abcdef" * 8}
for path in glob.glob(os.path.join(ROOT, "Tests/ImageResolutionTests/*.swift")):
    for literal in re.findall(r'input: "((?:[^"\\]|\\\(\w+\))*)"', read(path).decode()):
        add("FuzzImageReference", "tests", re.sub(r"\\\((\w+)\)", lambda m: hexes.get(m.group(1), ""), literal))
for path in glob.glob(os.path.join(ROOT, "Tests/NonRootPolicyTests/ImageUserTests.swift")):
    for literal in re.findall(r'\("((?:[^"\\])*)", (?:ImageUser)?\.', read(path).decode()):
        add("FuzzImageUser", "tests", literal)

# Conformance data, read in place.
conformance = os.environ.get("NONROOT_CONFORMANCE_DIR") or os.path.join(ROOT, "..", "shared", "conformance")
if not os.path.isdir(conformance):
    print(f"make-seeds: note: no conformance data at $NONROOT_CONFORMANCE_DIR or {conformance}; seeding without it")
else:
    for path in sorted(glob.glob(os.path.join(conformance, "recorded-reviews", "**", "*.json"), recursive=True)):
        data = read(path)
        add("FuzzReview", "recorded", data)
        add("FuzzJSONDifferential", "recorded", data)
        add("FuzzReviewInput", "recorded", bytes([INPUT_JSON]) + data)
        for image in images_in(data.decode()):
            add("FuzzImageReference", "recorded", image)
    try:
        import yaml
    except ImportError:
        yaml = None
        print("make-seeds: note: PyYAML is not installed; the Pod Security fixtures seed FuzzReviewInput only")
    for number, path in enumerate(sorted(glob.glob(os.path.join(conformance, "psa-fixtures", "**", "*.yaml"), recursive=True))):
        data = read(path)
        add("FuzzReviewInput", "psa", bytes([INPUT_YAML_MANIFESTS]) + data)
        add("FuzzYAML", "psa", data)
        for image in images_in(data.decode()):
            add("FuzzImageReference", "psa", image)
        if yaml is not None:
            pod = yaml.safe_load(data)
            if isinstance(pod, dict):
                # Each fixture once with a catalog image, cycling through every kind of USER.
                for container in (pod.get("spec") or {}).get("containers") or []:
                    container["image"] = CATALOG_IMAGES[number % len(CATALOG_IMAGES)]
                add("FuzzReview", "psa", review(pod, f"psa-{number}", (pod.get("apiVersion", "v1"), pod.get("kind", "Pod"))))
    kubelet = os.path.join(conformance, "kubelet", "verifyRunAsNonRoot-cases.json")
    if os.path.exists(kubelet):
        data = read(kubelet)
        add("FuzzJSONDifferential", "kubelet", data)
        for number, case in enumerate(json.loads(data)):
            uid, username = case.get("imageUid"), case.get("imageUsername")
            user = str(uid) if uid is not None else (username or "")
            add("FuzzImageUser", "kubelet", user)
            # The case as a pod whose image has that USER: a catalog image with the same kind of USER.
            if username:
                image = "mcr.microsoft.com/dotnet/samples:aspnetapp"
            elif uid is None:
                image = "nginx:1.27"
            else:
                image = {0: "busybox"}.get(uid, "ghcr.io/acme/api:2" if 0 < uid <= 2**31 - 1 else "quay.io/big/uid:1")
            container = {"name": "foo", "image": image}
            if case.get("containerSecurityContext") is not None:
                container["securityContext"] = case["containerSecurityContext"]
            spec = {"containers": [container]}
            if case.get("podSecurityContext") is not None:
                spec["securityContext"] = case["podSecurityContext"]
            if case.get("windows"):
                spec["os"] = {"name": "windows"}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bar", "namespace": "new", "uid": "12345678"}, "spec": spec}
            add("FuzzReview", "kubelet", review(pod, f"kubelet-{number}", ("v1", "Pod")))

for target in TARGETS:
    print(f"make-seeds: {target}: {counts[target]} seeds from {', '.join(sorted(sources[target])) or 'nothing'}")
