// Data-pipeline throughput: read a KITTI frame, read a PCD, simulate a 64-beam frame, and
// augment + voxelize a frame. Prints one line per task: "<task> <points/s> <ms per call>".
// The peers (NumPy, Open3D) run in bench/data_bench.py on the same files; scripts/bench.sh
// runs both and prints the ratios. Usage: data_bench SHARED_DATA_DIR [repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "pretext/data/augment.h"
#include "pretext/data/readers.h"
#include "pretext/data/street_sim.h"
#include "pretext/data/voxelize.h"

using namespace pretext::core;

namespace {

// Median wall time of `repeats` calls after one warm-up call.
double medianMs(int repeats, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void report(const char* task, std::size_t points, double ms) {
  std::printf("%-22s %12.0f points/s %9.3f ms\n", task, points / (ms / 1000.0), ms);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: data_bench SHARED_DATA_DIR [repeats]\n");
    return 2;
  }
  const std::string shared = argv[1];
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 20;
  const std::string kitti = shared + "/kitti_object/training_000001.bin";  // 120 268 points
  const std::string pcd = shared + "/semantickitti_seq00_pcd/000000.pcd";  // 124 668 points

  std::size_t n = 0;
  double ms = medianMs(repeats, [&] { n = readKittiBin(kitti).size(); });
  report("read_kitti_bin", n, ms);
  ms = medianMs(repeats, [&] { n = readPcd(pcd).size(); });
  report("read_pcd_binary", n, ms);

  StreetSimOptions o;  // 64 beams x 2048 azimuth steps
  std::uint64_t seed = 0;
  ms = medianMs(repeats, [&] { n = StreetSequence(o, ++seed).frame(0).cloud.size(); });
  report("simulate_64beam", n, ms);

  // One view of the E-SSL3D spatial branch: sample a transform, apply it, voxelize at 0.2 m
  // over 80 x 80 x 6 m with per-voxel centroids.
  const PointCloud frame = readKittiBin(kitti);
  AugmentOptions aug;
  VoxelGridSpec grid;
  grid.lo[0] = grid.lo[1] = -40;
  grid.hi[0] = grid.hi[1] = 40;
  grid.lo[2] = -4;
  grid.hi[2] = 2;
  grid.size[0] = grid.size[1] = grid.size[2] = 0.2;
  grid.maxPointsPerVoxel = 1 << 20;
  grid.maxVoxels = 1 << 24;
  std::mt19937_64 rng(1);
  std::vector<float> moved(frame.xyz.size());
  std::size_t voxels = 0;
  ms = medianMs(repeats, [&] {
    const SpatialTransform t = sampleTransform(aug, rng);
    t.apply(frame.xyz.data(), moved.data(), frame.size());
    voxels = voxelize(moved.data(), frame.size(), grid).voxels();
  });
  report("augment_voxelize_0.2m", frame.size(), ms);
  std::fprintf(stderr, "augment_voxelize: %zu voxels\n", voxels);
  return 0;
}
