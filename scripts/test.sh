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

# The end-to-end tests run the real executable, so build it first.
swift build --product nonroot-admission
swift test 2>&1 | tee .build/test-output.txt
