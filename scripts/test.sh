#!/usr/bin/env bash
# The project's test command: installs what the tests need, builds, and runs every test.
# Usage: scripts/test.sh   (CI runs it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

# The server integration tests drive the real server with openssl, curl and nghttp2-client (nghttp, h2load).
# Installed only when missing, so this is a no-op on a prepared machine.
if ! command -v nghttp >/dev/null || ! command -v h2load >/dev/null || ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends nghttp2-client openssl curl \
        || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends nghttp2-client openssl curl; }
fi

# The install tests (Tests/InstallTests) render deploy/ with `kubectl kustomize` and validate it offline
# against Kubernetes' own schemas with PyPI's kubernetes-validate (which brings PyYAML, which they read
# YAML with). Installed only when missing. The static release build they can also run is opt-in:
# NONROOT_INSTALL_STATIC_BUILD=1 (several minutes).
if ! python3 -c 'import kubernetes_validate, yaml' 2>/dev/null; then
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate \
        || PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --break-system-packages kubernetes-validate
fi
command -v kubectl >/dev/null || echo "warning: kubectl is not installed; the install tests need kubectl kustomize" >&2

# The registry tests talk to real registries: scripts/registry-fixture.sh runs Debian's docker-registry
# (plain, TLS, basic auth, bearer tokens, redirects) and a fault proxy on 127.0.0.1, installing the
# packages when missing (root). With CI=true the tests fail, never skip, when it is not running.
# A fixture someone already started (REGFIX_DIR set and running) is used as is.
started_fixture=0
if [ -z "${REGFIX_DIR:-}" ] || ! bash scripts/registry-fixture.sh status >/dev/null 2>&1; then
    export REGFIX_DIR="${TMPDIR:-/tmp}/nonroot-registry-fixture-test.$$"
    export REGFIX_PORT_BASE="${REGFIX_PORT_BASE:-5200}"
    if bash scripts/registry-fixture.sh start >"${TMPDIR:-/tmp}/registry-fixture-start.$$.log" 2>&1; then
        started_fixture=1
    else
        echo "warning: the registry fixture did not start; its log:" >&2
        tail -n 30 "${TMPDIR:-/tmp}/registry-fixture-start.$$.log" >&2 || true
        [ "${CI:-}" = "true" ] && { echo "error: CI=true needs the registry fixture" >&2; exit 1; }
    fi
fi
cleanup() { if [ "$started_fixture" = 1 ]; then bash scripts/registry-fixture.sh stop >/dev/null 2>&1 || true; rm -rf "$REGFIX_DIR"; fi; }
trap cleanup EXIT

# The end-to-end tests run the real executable, so build it first.
swift build --product nonroot-admission
swift test 2>&1 | tee .build/test-output.txt
