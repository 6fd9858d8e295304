#!/usr/bin/env python3
"""Writes <state>/fixtures.json: for each line of <state>/pushed.txt, the image as the registry serves it
(digest, media type, config digest) and the config.User gen_images.py gave it.
usage: write_fixtures.py <state-dir> <registry host:port>"""
import json, sys, urllib.request
state, reg = sys.argv[1], sys.argv[2]
exp = json.load(open(state + "/expected.json"))
ACCEPT = ("application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
out = []
for line in open(state + "/pushed.txt"):
    repo, tag, fmt, case = line.split()
    r = urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/%s" % (reg, repo, tag), headers={"Accept": ACCEPT}))
    m = json.loads(r.read())
    out.append({"repo": repo, "tag": tag, "format": fmt, "case": case,
                "reference": "%s/%s:%s" % (reg, repo, tag),
                "digest": r.headers["Docker-Content-Digest"], "mediaType": r.headers["Content-Type"],
                "config": m.get("config", {}).get("digest"), "user": exp[case]})
json.dump(out, open(state + "/fixtures.json", "w"), indent=1)
