#pragma once
// A procedural street scene ray-cast by a spinning multi-beam LiDAR: the embedded default
// data source, so the default experiment needs no files. The world holds a sloped road with
// curbs and raised sidewalks, buildings, poles, trees, parked and moving cars, pedestrians
// and cyclists; the ego vehicle drives along the road. Every frame carries class and
// instance labels and boxes; every consecutive pair carries the exact per-point scene flow.
// Deterministic for a seed. Plain C++; any thread (no shared state).
#include <cstdint>
#include <string>
#include <vector>

#include "pretext/data/datasets.h"
#include "pretext/data/point_cloud.h"

namespace pretext::core {

struct StreetSimOptions {
  int beams = 64;               // 64: HDL-64E-like elevation table (+2 to -24.3 deg, two blocks)
  int azimuthSteps = 2048;      // firings per revolution
  double maxRange = 80.0;       // metres
  double minRange = 2.0;        // returns closer than this are discarded (the ego's own body)
  double rangeNoise = 0.02;     // metres, Gaussian, along the ray
  double dropout = 0.02;        // fraction of returns lost
  double sensorHeight = 1.73;   // above the road surface
  double frameRate = 10.0;      // Hz; frame k is at time k / frameRate
  double egoSpeed = 8.0;        // m/s along the road
  double egoYawRate = 0.0;      // rad/s
  double roadSlope = 0.02;      // rise per metre along the road
  int objects = 40;             // cars, pedestrians, cyclists, poles and trees
  double movingFraction = 0.5;  // share of cars/pedestrians/cyclists that move
};

enum class SimClass : std::uint8_t {
  Road = 0,
  Sidewalk,
  Curb,
  Building,
  Car,
  Pole,
  Vegetation,
  Pedestrian,
  Cyclist
};
const char* simClassName(SimClass c);
constexpr int kSimClassCount = 9;

struct SimFrame {
  // Fields: intensity [0, 1], ring (beam index), class (SimClass), instance (0 = stuff).
  PointCloud cloud;
  std::vector<Box3D> boxes;  // cars, pedestrians, cyclists in the sensor frame
  Mat4 egoPose{};            // sensor frame -> world
  double time = 0;
};

class StreetSequence {
 public:
  StreetSequence(const StreetSimOptions& options, std::uint64_t seed);
  ~StreetSequence();
  StreetSequence(const StreetSequence&) = delete;
  StreetSequence& operator=(const StreetSequence&) = delete;

  SimFrame frame(int k) const;
  Mat4 egoPose(int k) const;  // sensor frame k -> world, without rendering the frame
  // Frames k and k+1 and the exact flow of every point of frame k (flowKind "exact");
  // egoMotion maps frame-k sensor coordinates to frame-(k+1) sensor coordinates.
  ScenePair pair(int k) const;
  const StreetSimOptions& options() const;

 private:
  struct World;
  World* m_world;
};

// Frame 0 of the sequence for `seed`.
PointCloud simulateStreetScan(const StreetSimOptions& options, std::uint64_t seed);

// SplitMix64: a tiny, well-mixed hash for deriving per-step / per-sample seeds.
inline std::uint64_t mixSeed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace pretext::core
