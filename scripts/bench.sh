#!/usr/bin/env bash
# Runs each benchmark next to its Python peer in the same invocation and prints the ratio.
# Run on an otherwise idle machine. Usage: scripts/bench.sh [steps] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# Debian's python3-torch lives in the system interpreter, whatever python3 is first on PATH.
PY=${PY:-/usr/bin/python3}
STEPS=${1:-60}
THREADS=${2:-$(nproc)}
cmake --build "$BUILD_DIR" --target lm_train_bench >/dev/null
echo "== LM training step (2x128, T 64, batch 32), $THREADS threads, $STEPS steps"
for round in 1 2 3; do
  cpp=$("$BUILD_DIR/bench/lm_train_bench" "$STEPS" "$THREADS")
  py=$($PY bench/lm_train_bench.py "$STEPS" "$THREADS")
  c=$(echo "$cpp" | awk '{print $3}'); p=$(echo "$py" | awk '{print $3}')
  echo "round $round: $cpp | $py | C++/Python $($PY -c "print(f'{$c/$p:.2f}')")"
done
