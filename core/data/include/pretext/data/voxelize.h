#pragma once
// Range/FOV cropping, voxelization and pillarization, batching of variable-size clouds,
// nearest-neighbour queries on a hash grid, and a background prefetcher that prepares the
// next batch while the current step trains. Plain C++; any thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pretext/data/point_cloud.h"

namespace pretext::core {

struct CropOptions {
  double minRange = 0.0;  // horizontal range, metres
  double maxRange = 0.0;  // 0 = no limit
  bool frontFov = false;  // keep |azimuth| <= fovDeg / 2 and x > 0 (KITTI camera crop)
  double fovDeg = 90.0;
  double zMin = -1e30, zMax = 1e30;
};
std::vector<std::size_t> cropIndices(const PointCloud& cloud, const CropOptions& o);

// A regular grid over [lo, hi) with cell size `size`. Pillars: set size[2] = hi[2] - lo[2].
struct VoxelGridSpec {
  double lo[3] = {-40, -40, -3}, hi[3] = {40, 40, 1};
  double size[3] = {0.5, 0.5, 0.5};
  int maxPointsPerVoxel = 32;  // later points of a full voxel are dropped
  int maxVoxels = 40000;       // voxels beyond this (in point order) are dropped
  int dim(int axis) const;
};
VoxelGridSpec pillarGrid(double range, double pillar, double zMin, double zMax);

struct Voxels {
  std::vector<std::int32_t> coords;        // 3 per voxel: ix, iy, iz
  std::vector<std::uint32_t> start;        // voxel v's points are order[start[v] .. start[v+1])
  std::vector<std::uint32_t> order;        // point indices grouped by voxel
  std::vector<std::int32_t> voxelOfPoint;  // per input point: voxel id or -1 (outside / dropped)
  std::vector<float> centroid;             // 3 per voxel: mean of its points
  std::size_t voxels() const { return coords.size() / 3; }
  std::size_t droppedPoints = 0;
};
Voxels voxelize(const float* xyz, std::size_t n, const VoxelGridSpec& grid);

// Variable-size clouds concatenated: cloud b holds points offsets[b] .. offsets[b+1].
struct CloudBatch {
  std::vector<float> xyz;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::string> fieldNames;
  std::vector<std::vector<float>> fields;
  std::size_t batchSize() const { return offsets.size() - 1; }
};
// Fields present in every cloud are kept; others are dropped.
CloudBatch collate(const std::vector<PointCloud>& clouds);

// Exact nearest neighbours within a cell-sized hash grid, searching outward ring by ring.
class NeighborGrid {
 public:
  NeighborGrid(const float* xyz, std::size_t n, double cell);
  // Index of the nearest point and its distance; -1 when none lies within maxDist.
  std::int64_t nearest(const float* q, double maxDist, double* dist = nullptr) const;

 private:
  std::int64_t key(std::int64_t x, std::int64_t y, std::int64_t z) const {
    return (x * 73856093) ^ (y * 19349663) ^ (z * 83492791);
  }
  const float* m_xyz;
  double m_cell;
  std::unordered_map<std::int64_t, std::vector<std::uint32_t>> m_cells;
};

// Produces make(first), make(first+1), ... on a worker thread, keeping up to `depth` items
// ready. next() returns them in order and rethrows the producer's exception at the index
// where it happened. The destructor stops and joins the worker.
template <typename T>
class Prefetcher {
 public:
  Prefetcher(std::function<T(std::int64_t)> make, std::int64_t first, std::size_t depth = 1)
      : m_make(std::move(make)), m_next(first), m_consumed(first), m_depth(depth ? depth : 1) {
    m_thread = std::thread([this] { run(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The index the next call to next() returns.
  std::int64_t nextIndex() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_consumed;
  }
  T next() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [this] { return !m_ready.empty() || m_error; });
    if (m_ready.empty()) std::rethrow_exception(m_error);
    T item = std::move(m_ready.front());
    m_ready.pop_front();
    ++m_consumed;
    m_cv.notify_all();
    return item;
  }

 private:
  void run() {
    for (;;) {
      std::int64_t index;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return m_stop || (m_ready.size() < m_depth && !m_error); });
        if (m_stop) return;
        index = m_next++;
      }
      try {
        T item = m_make(index);
        std::lock_guard<std::mutex> lock(m_mutex);
        m_ready.push_back(std::move(item));
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_error = std::current_exception();
      }
      m_cv.notify_all();
    }
  }

  std::function<T(std::int64_t)> m_make;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<T> m_ready;
  std::int64_t m_next, m_consumed;
  std::size_t m_depth;
  bool m_stop = false;
  std::exception_ptr m_error;
  std::thread m_thread;
};

}  // namespace pretext::core
