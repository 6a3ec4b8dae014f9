#pragma once
// A small procedural street scene ray-cast by a spinning multi-beam LiDAR: the embedded
// default data source, so the default experiment needs no files. Deterministic for a seed.
// Plain C++; any thread (no shared state).
#include <cstdint>
#include <string>
#include <vector>

namespace pretext::core {

struct StreetSimOptions {
  int beams = 32;
  int azimuthSteps = 720;
  double maxRange = 60.0;
  double rangeNoise = 0.02;  // metres, Gaussian
  int objects = 12;          // cars + poles + trees
  double sensorHeight = 1.73;
  double dropout = 0.02;  // fraction of returns lost
};

enum class SimClass : std::uint8_t { Road = 0, Sidewalk, Building, Car, Pole, Vegetation };

struct LidarScan {
  std::vector<float> xyz;        // 3 per point, sensor frame: x forward, y left, z up
  std::vector<float> intensity;  // [0, 1]
  std::vector<std::uint8_t> label;
  std::size_t size() const { return intensity.size(); }
};

LidarScan simulateStreetScan(const StreetSimOptions& options, std::uint64_t seed);

// Reads a KITTI-style Velodyne .bin (float32 x, y, z, intensity). Rows with a non-finite
// value are dropped and counted in `droppedNonFinite`. Returns false with a message naming
// the file and the problem for unreadable or malformed files.
bool readKittiBin(const std::string& path, LidarScan& scan, std::size_t& droppedNonFinite,
                  std::string& error);

// SplitMix64: a tiny, well-mixed hash for deriving per-step / per-sample seeds.
inline std::uint64_t mixSeed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace pretext::core
