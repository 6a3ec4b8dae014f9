#!/usr/bin/env bash
# Re-creates the study tables of docs/results.md (attention-sink comparisons).
# About 10 minutes on 2 cores. Usage: scripts/studies.sh [steps per sweep run, default 600]
# sink-attention runs each preset for its own trainer.max_steps (1000; K bias 1500, which
# needs ~1000 steps before the slot takes the sink); the sweeps run STEPS steps.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
STEPS=${1:-600}
cmake --build "$BUILD_DIR" --target pretext-study >/dev/null
STUDY="$BUILD_DIR/app/pretext_study/pretext-study"
"$STUDY" sink-attention --out studies/sink-attention
for study in sink-lr sink-wd; do
  "$STUDY" "$study" --max-steps "$STEPS" --out "studies/$study"
done
# Keep the plots next to the results page.
mkdir -p docs/figures
for study in sink-attention sink-lr sink-wd; do
  for f in "studies/$study"/*.svg; do cp "$f" "docs/figures/$study-$(basename "$f")"; done
done
