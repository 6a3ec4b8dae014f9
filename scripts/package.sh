#!/usr/bin/env bash
# Sets up the machine, builds Pretext and writes the Debian package into ${BUILD_DIR:-build}.
# Usage: scripts/package.sh   (then: sudo apt install ./build/pretext_<version>_amd64.deb)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
scripts/build.sh
(cd "$BUILD_DIR" && cpack -G DEB)
ls "$BUILD_DIR"/pretext_*_amd64.deb
