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

# The end-to-end tests run the real executable, so build it first.
swift build --product nonroot-admission
swift test 2>&1 | tee .build/test-output.txt
