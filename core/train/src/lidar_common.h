#pragma once
// Private to core: what the LiDAR experiments (lidar_ssl, lidar_downstream) share — config
// to options, the scan source with its crop, point sampling.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "essl_model.h"
#include "pretext/data/augment.h"
#include "pretext/data/datasets.h"
#include "pretext/data/voxelize.h"
#include "pretext/runs/config.h"
#include "pretext/train/lidar_options.h"

namespace pretext::core {

essl::EncoderOptions lidarEncoderOptions(const Config& c);
// Loads the "encoder" sub-archive of a lidar_ssl model.pt into `encoder`, whose options
// must match the checkpoint's: a mismatch or an unreadable file throws runtime_error
// "cannot load the encoder from FILE: <problem> (model.* must match the pre-training run's)".
void loadEncoderWeights(essl::PillarEncoder& encoder, const std::string& file);

// Scans (and consecutive pairs) of the configured dataset, cropped to data.crop and to the
// encoder's grid; scan(key) picks one deterministically from the key.
class LidarScanSource {
 public:
  explicit LidarScanSource(const Config& c);
  PointCloud scan(std::uint64_t key) const;
  ScenePair pair(std::uint64_t key) const;  // first frame cropped, flow kept aligned
  // The scan of `key` (cropped) and its labelled boxes, from one read of the dataset.
  std::pair<PointCloud, std::vector<Box3D>> labelledScan(std::uint64_t key) const;
  bool hasPairs() const { return m_dataset->hasPairs(); }
  std::string describe() const { return m_dataset->describe(); }
  // The dataset index a key selects.
  std::size_t index(std::uint64_t key) const;

 private:
  std::uint64_t m_seed;
  std::unique_ptr<ScanDataset> m_dataset;
  CropOptions m_crop;
};

// The model.pt that downstream.init names: the newest checkpoint of a run directory, or a
// checkpoint folder. Throws std::runtime_error("downstream.init: ...").
std::string initCheckpoint(const std::string& path);

// The downstream target: cells of the encoder's H x H BEV grid that one of `boxes` reaches
// into (1) or not (0), [H * H] row-major (iy * H + ix). A cell counts when its centre lies
// in the box footprint grown by half a cell on every side.
std::vector<float> bevObjectLabels(const std::vector<Box3D>& boxes, const essl::EncoderOptions& o);

// `wanted` indices of [0, available): without replacement when possible.
std::vector<std::size_t> samplePoints(std::size_t available, std::size_t wanted,
                                      std::mt19937_64& rng);
// `wanted` sampled points of `xyz` (3 floats per point), 3 floats each.
std::vector<float> sampleXyz(const std::vector<float>& xyz, std::size_t wanted,
                             std::mt19937_64& rng);

}  // namespace pretext::core
