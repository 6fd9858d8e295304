#!/usr/bin/env bash
# The project's test command: installs what the tests need, builds, and runs every test.
# Usage: scripts/test.sh   (CI runs it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

# The end-to-end tests run the real executable, so build it first.
swift build --product nonroot-admission
swift test 2>&1 | tee .build/test-output.txt
