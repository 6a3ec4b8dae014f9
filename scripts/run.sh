#!/usr/bin/env bash
# The run command: sets up a fresh Debian 12 machine, builds, and opens the Pretext window
# training the default experiment (simulated LiDAR: no data files needed).
# Without a display it trains under Xvfb and saves a screenshot instead.
# Usage: scripts/run.sh [extra pretext options, e.g. --max-steps 100]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$BUILD_DIR/app/pretext/pretext" --run default --out runs "$@"
fi
echo "run: no display; training the default experiment under Xvfb, screenshot in runs/pretext-default.png"
exec xvfb-run -a -s "-screen 0 1600x1000x24" "$BUILD_DIR/app/pretext/pretext" --run default \
  --out runs --screenshot runs/pretext-default.png --exit-when-done "$@"
