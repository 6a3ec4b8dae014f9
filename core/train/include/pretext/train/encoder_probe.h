#pragma once
// The equivariance inspector's encoder: a lidar_ssl run's point encoder as it was
// initialised (the run's seed, = step 0) or as a checkpoint saved it, applied to a scan
// and a user transform T. LibTorch stays inside core; call from a worker thread (a forward
// pass of a KITTI-size scan takes tens of milliseconds to seconds on a CPU).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pretext/data/augment.h"

namespace pretext::core {

class EncoderProbe {
 public:
  ~EncoderProbe();
  // step < 0: the untrained encoder; otherwise checkpoint `step` of the run. Throws
  // std::runtime_error naming the run or file (not a run, not lidar_ssl, no such
  // checkpoint, unreadable weights).
  static std::unique_ptr<EncoderProbe> open(const std::string& runDir, std::int64_t step);
  std::int64_t step() const;  // -1 for the untrained encoder
  // ‖f̂(T x)ᵢ − f̂(x)ᵢ‖ for every point i of `xyz` (3 floats per point): the distance of the
  // L2-normalised features of corresponding points, in [0, 2]; what the trainer's snapshot
  // fields (rotation_err, ...) hold for its fixed transforms.
  std::vector<float> equivarianceError(const std::vector<float>& xyz,
                                       const SpatialTransform& t) const;

 private:
  EncoderProbe();
  struct Impl;
  std::unique_ptr<Impl> d;
};

// The steps of a run's committed checkpoints, oldest first.
std::vector<std::int64_t> checkpointSteps(const std::string& runDir);

}  // namespace pretext::core
