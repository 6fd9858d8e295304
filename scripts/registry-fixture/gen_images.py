#!/usr/bin/env python3
"""Write an OCI image layout with tiny test images. Deterministic: same bytes, same digests."""
import gzip, hashlib, io, json, os, sys, tarfile

CREATED = "2024-01-01T00:00:00Z"
layout = sys.argv[1]
os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d

def js(o):
    return json.dumps(o, separators=(",", ":")).encode()

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
    body = b"hello from the registry fixture\n"
    ti = tarfile.TarInfo("hello.txt")
    ti.size, ti.mtime, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = len(body), 0, 0o644, 0, 0, "", ""
    tf.addfile(ti, io.BytesIO(body))
tar = raw.getvalue()
gz = io.BytesIO()
with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as g:
    g.write(tar)
gz = gz.getvalue()
DIFF_ID = "sha256:" + hashlib.sha256(tar).hexdigest()
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)}

def image(user, arch="amd64", variant=None, layers=True, config_section=True, media_type_field=True):
    cfg = {"created": CREATED, "architecture": arch, "os": "linux"}
    if variant:
        cfg["variant"] = variant
    if config_section:
        cfg["config"] = {} if user is None else {"User": user}
        cfg["config"]["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    cfg["rootfs"] = {"type": "layers", "diff_ids": [DIFF_ID] if layers else []}
    cfg["history"] = [{"created": CREATED, "created_by": "registry-fixture gen_images.py"}]
    cb = js(cfg)
    man = {"schemaVersion": 2}
    if media_type_field:
        man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    man["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cb), "size": len(cb)}
    man["layers"] = [LAYER] if layers else []
    mb = js(man)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mb), "size": len(mb)}

# tag -> expected config.User (None: key absent)
CASES = {"user-unset": None, "user-empty": "", "user-0": "0", "user-root": "root", "user-1000": "1000",
         "user-1000-1000": "1000:1000", "user-app": "app", "user-app-app": "app:app", "user-0-0": "0:0",
         "user-65532": "65532", "user-64198": "64198"}
refs, expected = [], {}

def tag(name, desc, exp):
    d = dict(desc)
    d["annotations"] = {"org.opencontainers.image.ref.name": name}
    refs.append(d)
    expected[name] = exp

for name, user in CASES.items():
    tag(name, image(user), user)
tag("no-config-section", image(None, config_section=False), None)   # no "config" object at all
tag("zero-layers", image("1000", layers=False), "1000")              # layers: []
tag("user-1000-nomediatype", image("1000", media_type_field=False), "1000")  # manifest without mediaType field
amd, arm = image("1000", "amd64"), image("0", "arm64", "v8")
amd["platform"] = {"architecture": "amd64", "os": "linux"}
arm["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
ib = js({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd, arm]})
tag("multiarch", {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(ib), "size": len(ib)},
    {"linux/amd64": "1000", "linux/arm64/v8": "0"})
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(layout, "index.json"), "wb") as f:
    f.write(js({"schemaVersion": 2, "manifests": refs}))
json.dump(expected, sys.stdout)
