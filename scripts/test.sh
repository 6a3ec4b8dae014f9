#!/usr/bin/env bash
# The test command: sets up a fresh Debian 12 machine, builds, and runs every test label
# (core, cli, train, gui, e2e, slow). GUI tests start their own Xvfb through xvfb-run.
# Usage: scripts/test.sh [ctest args, e.g. -L core]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
echo "test: build finished after $(( $(date +%s) - start )) s"
# Tests that train use all cores; run them one at a time so timings stay meaningful.
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 "$@"
echo "test: done after $(( $(date +%s) - start )) s"
