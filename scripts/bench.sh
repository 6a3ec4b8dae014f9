#!/usr/bin/env bash
# Runs each benchmark next to its Python peer in the same invocation and prints the ratios.
# Run on an otherwise idle machine.
# Usage: scripts/bench.sh [lm|essl|data|render|scaling|all (default)] [steps] [threads]
#   render: GUI rendering budgets (3D view, charts) next to Open3D's visualizer; needs an X
#   display, so it runs under xvfb-run when DISPLAY is unset (CI's software OpenGL).
#   scaling: data-parallel throughput of pretext-train --nproc 1, 2, 4 on loopback (Gloo),
#   one intra-op thread per rank (the presets' setting); not part of "all".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# Debian's python3-torch lives in the system interpreter, whatever python3 is first on PATH.
PY=${PY:-/usr/bin/python3}
WHAT=${1:-all}
STEPS=${2:-60}
# One intra-op thread, as the presets train (trainer.threads: 1; docs/benchmarks.md).
THREADS=${3:-1}
SHARED=${PRETEXT_SHARED_DATA:-../shared/data}

# The trainers keep freed tensor memory for reuse (core/train/src/tensor_allocator.cpp). Three
# passes per training benchmark:
#   as shipped      C++ with its tensor cache; Python as a PyTorch user runs it
#   Python tuned    C++ as shipped; Python with glibc's malloc tuned by environment (mmap
#                   threshold 32 MiB, trim threshold 256 MiB), the best it gets without C++
#   no cache        C++ with LibTorch's default allocator; Python as a user runs it
PY_TUNED="MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456"
passes=("as shipped" "Python tuned" "no cache")
pass_env() {  # $1 pass, $2 side (cpp|py)
  case "$1/$2" in
    "Python tuned/py") echo "$PY_TUNED" ;;
    "no cache/cpp") echo "PRETEXT_TENSOR_CACHE=0" ;;
  esac
}

if [ "$WHAT" = lm ] || [ "$WHAT" = all ]; then
  cmake --build "$BUILD_DIR" --target lm_train_bench >/dev/null
  echo "== LM training step (2x128, T 64, batch 32), $THREADS threads, $STEPS steps"
  for pass in "${passes[@]}"; do
    for round in 1 2 3; do
      cpp=$(env $(pass_env "$pass" cpp) "$BUILD_DIR/bench/lm_train_bench" "$STEPS" "$THREADS")
      py=$(env $(pass_env "$pass" py) $PY bench/lm_train_bench.py "$STEPS" "$THREADS")
      c=$(echo "$cpp" | awk '{print $3}'); p=$(echo "$py" | awk '{print $3}')
      echo "$pass, round $round: $cpp | $py | C++/Python $($PY -c "print(f'{$c/$p:.2f}')")"
    done
  done
fi

if [ "$WHAT" = essl ] || [ "$WHAT" = all ]; then
  cmake --build "$BUILD_DIR" --target essl_train_bench >/dev/null
  ESSL_STEPS=${ESSL_STEPS:-30}
  BATCHES=$(mktemp -d)
  echo "== E-SSL3D training step (default preset: batch 4 x 4096 points x 3 scans), 1 thread, $ESSL_STEPS steps"
  for pass in "${passes[@]}"; do
    for round in 1 2 3; do
      cpp=$(env $(pass_env "$pass" cpp) "$BUILD_DIR/bench/essl_train_bench" "$ESSL_STEPS" 1 "$BATCHES")
      py=$(env $(pass_env "$pass" py) $PY -W ignore bench/essl_train_bench.py "$ESSL_STEPS" 1 "$BATCHES")
      c=$(echo "$cpp" | awk '{print $3}'); p=$(echo "$py" | awk '{print $3}')
      echo "$pass, round $round: $cpp | $py | C++/Python $($PY -c "print(f'{$c/$p:.2f}')")"
    done
  done
  rm -rf "$BATCHES"
fi

if [ "$WHAT" = data ] || [ "$WHAT" = all ]; then
  scripts/setup.sh >/dev/null  # python3-open3d (the PLY export test needs it too)
  cmake --build "$BUILD_DIR" --target data_bench >/dev/null
  echo "== data pipeline (points/s, median of 20; higher is better)"
  for round in 1 2 3; do
    "$BUILD_DIR/bench/data_bench" "$SHARED" 20 2>/dev/null | sed 's/^/C++    /' > /tmp/pretext-bench-cpp.txt
    $PY bench/data_bench.py "$SHARED" 20 2>/dev/null | sed 's/^/Python /' > /tmp/pretext-bench-py.txt
    echo "-- round $round"
    cat /tmp/pretext-bench-cpp.txt /tmp/pretext-bench-py.txt
    $PY - <<'PYEOF'
rows = {}
for side, path in (("cpp", "/tmp/pretext-bench-cpp.txt"), ("py", "/tmp/pretext-bench-py.txt")):
    for line in open(path):
        f = line.split()
        rows.setdefault(f[1], {})[side] = float(f[2])
peers = {"read_kitti_bin": ["read_kitti_bin", "read_kitti_bin_nocheck"], "read_pcd_binary": ["read_pcd_binary"],
         "augment_voxelize_0.2m": ["augment_voxelize_0.2m", "augment_voxelize_o3d"]}
for task, names in peers.items():
    for n in names:
        if "cpp" in rows.get(task, {}) and "py" in rows.get(n, {}):
            print(f"ratio  {task} C++ / {n} peer: {rows[task]['cpp'] / rows[n]['py']:.2f}x")
PYEOF
  done
fi

if [ "$WHAT" = render ] || [ "$WHAT" = all ]; then
  cmake --build "$BUILD_DIR" --target render_bench >/dev/null
  X=""
  if [ -z "${DISPLAY:-}" ]; then X="xvfb-run -a -s '-screen 0 1920x1080x24'"; fi
  echo "== rendering (median ms per action, lower is better; 1280 x 720 window)"
  for round in 1 2 3; do
    eval "$X" "$BUILD_DIR/bench/render_bench" 15 2>/dev/null > /tmp/pretext-render-cpp.txt
    eval "$X" $PY bench/render_bench.py 15 2>/dev/null > /tmp/pretext-render-py.txt
    echo "-- round $round"
    sed 's/^/C++    /' /tmp/pretext-render-cpp.txt
    sed 's/^/Open3D /' /tmp/pretext-render-py.txt
    $PY - <<'PYEOF'
def read(path):
    return {f[0]: float(f[1]) for f in (l.split() for l in open(path)) if f and f[0] != "#"}
cpp, py = read("/tmp/pretext-render-cpp.txt"), read("/tmp/pretext-render-py.txt")
for k in cpp:
    if k in py:
        print(f"ratio  {k}: Open3D / C++ time = {py[k] / cpp[k]:.2f}x")
PYEOF
  done
fi

if [ "$WHAT" = scaling ]; then
  cmake --build "$BUILD_DIR" --target pretext-train >/dev/null
  OUT=$(mktemp -d)
  echo "== data-parallel scaling on loopback ($(nproc) cores), one thread per rank"
  printf '%-24s %5s %14s %12s %10s %12s\n' preset ranks items/s speedup allreduce step_ms
  for spec in "sink-backcopy-softmax:tokens:${SCALING_LM_STEPS:-80}" "essl-full:points:${SCALING_ESSL_STEPS:-24}"; do
    IFS=: read -r preset item steps <<<"$spec"
    for n in 1 2 4; do
      "$BUILD_DIR/app/pretext_train/pretext-train" "$preset" --quiet --nproc "$n" \
        --out "$OUT/$preset-$n" --max-steps "$steps" --set trainer.log_every=4 \
        --set trainer.snapshot_every=100000 --set trainer.checkpoint_every=100000 >/dev/null
      $PY - "$OUT/$preset-$n"/*/metrics.csv "$preset" "$n" "$item" "$OUT/base-$preset" <<'PYEOF'
import csv, os, sys
path, preset, n, item, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = list(csv.DictReader(open(path)))
last = max(int(r["step"]) for r in rows)
def mean(key):  # the second half of the run: warm caches, no start-up
    v = [float(r["value"]) for r in rows if r["key"] == key and int(r["step"]) > last // 2]
    return sum(v) / len(v) if v else float("nan")
rate, steps = mean(f"perf/{item}_per_sec"), mean("perf/steps_per_sec")
ar = mean("perf/allreduce_ms")
if n == 1:
    open(base, "w").write(str(rate))
one = float(open(base).read())
ar_text = "-" if ar != ar else f"{ar:.1f} ms"
print(f"{preset:<24} {n:5d} {rate:14.0f} {rate / one:11.2f}x {ar_text:>11} {1e3 / steps:9.1f} ms")
PYEOF
    done
  done
  rm -rf "$OUT"
fi
