#!/usr/bin/env bash
# Configures and builds Pretext (Release with debug info) into ${BUILD_DIR:-build}.
# Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRETEXT_WERROR=ON "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
