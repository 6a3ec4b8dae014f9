#include "lidar_common.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "experiment.h"
#include "pretext/data/street_sim.h"
#include "pretext/runs/run_dir.h"

namespace pretext::core {
essl::EncoderOptions lidarEncoderOptions(const Config& c) {
  essl::EncoderOptions o;
  o.width = static_cast<int>(c.getInt("model.width"));
  o.depth = static_cast<int>(c.getInt("model.depth"));
  o.featureDim = static_cast<int>(c.getInt("model.feature_dim"));
  o.range = c.getFloat("model.grid_range");
  o.pillar = c.getFloat("model.pillar");
  return o;
}

LidarScanSource::LidarScanSource(const Config& c)
    : m_seed(static_cast<std::uint64_t>(c.getInt("experiment.seed"))) {
  m_dataset = openDataset(lidarDatasetOptions(c));
  const double grid = c.getFloat("model.grid_range");
  const double maxRange = c.getFloat("data.crop.max_range");
  // A circle inside the grid square, so rotated views stay on the grid.
  m_crop.maxRange = maxRange > 0 ? std::min(maxRange, grid) : grid;
  m_crop.frontFov = c.getBool("data.crop.front_fov");
  m_crop.fovDeg = c.getFloat("data.crop.fov_deg");
}

std::size_t LidarScanSource::index(std::uint64_t key) const {
  const std::uint64_t h = mixSeed(m_seed, key);
  const std::size_t n = m_dataset->size();
  return n ? h % n : h >> 8;
}

PointCloud LidarScanSource::scan(std::uint64_t key) const {
  PointCloud s = m_dataset->scan(index(key));
  s.select(cropIndices(s, m_crop));
  if (s.empty()) throw DataError(m_dataset->describe() + ": no points left after data.crop");
  return s;
}

ScenePair LidarScanSource::pair(std::uint64_t key) const {
  ScenePair p = m_dataset->pair(index(key));  // datasets with pairs count pairs in size()
  auto keep = cropIndices(p.first, m_crop);
  std::vector<float> flow;
  flow.reserve(keep.size() * 3);
  for (auto i : keep)
    for (int d = 0; d < 3; ++d) flow.push_back(p.flow[3 * i + d]);
  p.first.select(keep);
  p.flow = std::move(flow);
  p.second.select(cropIndices(p.second, m_crop));
  if (p.first.empty() || p.second.empty())
    throw DataError(m_dataset->describe() + ": a frame has no points left after data.crop");
  return p;
}

std::pair<PointCloud, std::vector<Box3D>> LidarScanSource::labelledScan(std::uint64_t key) const {
  auto scan = m_dataset->labelledScan(index(key));
  scan.first.select(cropIndices(scan.first, m_crop));
  if (scan.first.empty())
    throw DataError(m_dataset->describe() + ": no points left after data.crop");
  return scan;
}

void loadEncoderWeights(essl::PillarEncoder& encoder, const std::string& file) {
  auto shapeText = [](const std::vector<std::int64_t>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out + "]";
  };
  torch::serialize::InputArchive ar, e;
  try {
    ar.load_from(file);
    if (!ar.try_read("encoder", e))
      throw std::runtime_error("it holds no 'encoder' (not a lidar_ssl checkpoint)");
    // Archive reads replace tensors whatever their shape, so compare them afterwards.
    std::map<std::string, std::vector<std::int64_t>> expected;
    for (const auto& p : encoder->named_parameters()) expected[p.key()] = p.value().sizes().vec();
    encoder->load(e);
    for (const auto& p : encoder->named_parameters())
      if (p.value().sizes().vec() != expected[p.key()])
        throw std::runtime_error("encoder." + p.key() + " has shape " +
                                 shapeText(p.value().sizes().vec()) + ", this config needs " +
                                 shapeText(expected[p.key()]));
  } catch (const std::exception& ex) {
    const std::string what = ex.what();
    throw std::runtime_error("cannot load the encoder from " + file + ": " +
                             what.substr(0, what.find('\n')) +
                             " (model.* must match the pre-training run's)");
  }
}

std::string initCheckpoint(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(path) / "model.pt")) return (fs::path(path) / "model.pt").string();
  const CheckpointChoice latest = findCheckpoint(path);  // verified, like a resume
  if (!latest.error.empty()) throw std::runtime_error("downstream.init: " + latest.error);
  if (!latest.step)
    throw std::runtime_error("downstream.init: " + path +
                             " is neither a run directory with a checkpoint nor a checkpoint "
                             "folder (no model.pt)");
  return (fs::path(latest.dir) / "model.pt").string();
}

// Cells of an H x H grid over [-R, R)^2 whose centre lies in a box footprint: [H*H] floats.
std::vector<float> bevObjectLabels(const std::vector<Box3D>& boxes, const essl::EncoderOptions& o) {
  const int H = o.cells();
  // Half a cell of margin: a cell counts when the box reaches into it, so objects narrower
  // than a cell (pedestrians, cyclists) still mark the cells their points fall in.
  const double margin = 0.5 * o.pillar;
  std::vector<float> out(static_cast<std::size_t>(H) * H, 0.0f);
  for (const auto& b : boxes) {
    const double c = std::cos(b.yaw), s = std::sin(b.yaw);
    const double reach = 0.5 * std::hypot(b.length, b.width) + margin;
    const int x0 = std::max(0, static_cast<int>(std::floor((b.cx - reach + o.range) / o.pillar)));
    const int x1 =
        std::min(H - 1, static_cast<int>(std::floor((b.cx + reach + o.range) / o.pillar)));
    const int y0 = std::max(0, static_cast<int>(std::floor((b.cy - reach + o.range) / o.pillar)));
    const int y1 =
        std::min(H - 1, static_cast<int>(std::floor((b.cy + reach + o.range) / o.pillar)));
    for (int iy = y0; iy <= y1; ++iy)
      for (int ix = x0; ix <= x1; ++ix) {
        const double x = (ix + 0.5) * o.pillar - o.range - b.cx;
        const double y = (iy + 0.5) * o.pillar - o.range - b.cy;
        const double u = c * x + s * y, v = -s * x + c * y;
        if (std::abs(u) <= 0.5 * b.length + margin && std::abs(v) <= 0.5 * b.width + margin)
          out[static_cast<std::size_t>(iy) * H + ix] = 1.0f;
      }
  }
  return out;
}

std::vector<std::size_t> samplePoints(std::size_t available, std::size_t wanted,
                                      std::mt19937_64& rng) {
  std::vector<std::size_t> idx(wanted);
  if (available >= wanted) {
    std::vector<std::size_t> all(available);
    for (std::size_t i = 0; i < available; ++i) all[i] = i;
    for (std::size_t i = 0; i < wanted; ++i) {
      std::uniform_int_distribution<std::size_t> d(i, available - 1);
      std::swap(all[i], all[d(rng)]);
      idx[i] = all[i];
    }
  } else {
    std::uniform_int_distribution<std::size_t> d(0, available - 1);
    for (auto& i : idx) i = d(rng);
  }
  return idx;
}

std::vector<float> sampleXyz(const std::vector<float>& xyz, std::size_t wanted,
                             std::mt19937_64& rng) {
  auto idx = samplePoints(xyz.size() / 3, wanted, rng);
  std::vector<float> out(wanted * 3);
  for (std::size_t k = 0; k < wanted; ++k)
    for (int d = 0; d < 3; ++d) out[3 * k + d] = xyz[3 * idx[k] + d];
  return out;
}

std::optional<ConfigIssue> checkLidarDataSource(const Config& config) {
  const std::string kind = config.getString("experiment.kind");
  if (kind != "lidar_ssl" && kind != "lidar_downstream") return std::nullopt;
  std::unique_ptr<ScanDataset> d;
  try {
    d = openDataset(lidarDatasetOptions(config));
  } catch (const DataError& e) {
    return ConfigIssue{"data.path", e.what()};
  }
  if (kind == "lidar_ssl" && config.getFloat("objective.flow.weight") > 0 && !d->hasPairs())
    return ConfigIssue{"objective.flow.weight",
                       d->describe() +
                           " has no consecutive scans with flow; set objective.flow.weight=0 or "
                           "use data.source simulated, kitti_odometry or npz_flow"};
  if (kind == "lidar_downstream" && config.getString("data.source") != "simulated")
    return ConfigIssue{"data.source",
                       "lidar_downstream trains on the simulator's boxes; use 'simulated'"};
  if (kind == "lidar_downstream" && !config.getString("downstream.init").empty()) {
    try {
      initCheckpoint(config.getString("downstream.init"));
    } catch (const std::exception& e) {
      std::string m = e.what();
      return ConfigIssue{"downstream.init", m.substr(m.find(": ") + 2)};
    }
  }
  return std::nullopt;
}

}  // namespace pretext::core
