#!/usr/bin/env bash
# Builds the reader fuzz targets with clang (libFuzzer + ASan/LSan + UBSan) and runs each for a
# bounded time from seeds cut from ../shared/data. Fails on any crash, leak or sanitizer report.
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (default 15)] [BUILD_DIR (default build-fuzz)]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SECONDS_PER_TARGET=${1:-15}
OUT=${2:-$ROOT/build-fuzz}
SHARED=${PRETEXT_SHARED_DATA:-$ROOT/../shared/data}
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh installs it)" >&2; exit 1; }
cmake -S "$HERE" -B "$OUT" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None >/dev/null
cmake --build "$OUT" -j "$(nproc)"
rm -rf "$OUT/seeds" "$OUT/artifacts"
mkdir -p "$OUT/artifacts"
/usr/bin/python3 "$HERE/make_seeds.py" "$SHARED" "$OUT/seeds"
status=0
for t in bin nuscenes_bin pcd ply npy npz kitti_label kitti_calib kitti_poses; do
  mkdir -p "$OUT/corpus/$t"
  log="$OUT/$t.log"
  # Inputs that once crashed a reader (tests/fuzz/regressions/<target>) run first, every time.
  extra=()
  [ -d "$HERE/regressions/$t" ] && extra=("$HERE/regressions/$t")
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$OUT/fuzz_$t" "$OUT/corpus/$t" "$OUT/seeds/$t" "${extra[@]}" -max_total_time="$SECONDS_PER_TARGET" \
       -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$OUT/artifacts/$t-" >"$log" 2>&1; then
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ok, ${runs:-?} inputs in ${SECONDS_PER_TARGET}s, $cov"
  else
    echo "fuzz $t: FAILED (see $log)"; tail -30 "$log"; status=1
  fi
done
exit $status
