#pragma once
// Point samples that travel from the data layer to runs and views: a scan pair with its
// scene flow, and a point cloud with per-point fields. Plain data, no LibTorch.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pretext::core {

// Two consecutive scans and the scene flow of every point of `first` (first + truth lies
// in `second`'s coordinate frame), for the scene-flow view. `predicted` (empty when there is
// none) is what a run's encoder predicts by matching features (docs/objectives.md).
struct FlowSample {
  std::vector<float> first, second;     // 3 floats per point
  std::vector<float> truth, predicted;  // 3 floats per point of `first`
  // Labelled objects of frame t when known (the simulator): 7 floats per box, centre x, y, z,
  // length (along yaw), width, height, yaw (radians about z).
  std::vector<float> boxes;
  std::string kind;    // "exact", "ego-motion", "stored"
  std::string source;  // what the pair was read from, for captions
  std::size_t size() const { return first.size() / 3; }
};
using FlowSamplePtr = std::shared_ptr<const FlowSample>;

// A point cloud with per-point scalar fields, e.g. the probe scan with its equivariance error,
// and for runs with a temporal branch the probe pair's flow.
struct PointSnapshot {
  std::int64_t step = 0;
  std::vector<float> xyz;  // 3 floats per point
  std::map<std::string, std::vector<float>> fields;
  FlowSamplePtr flow;  // may be null
  std::size_t size() const { return xyz.size() / 3; }
};
using PointSnapshotPtr = std::shared_ptr<const PointSnapshot>;

}  // namespace pretext::core
