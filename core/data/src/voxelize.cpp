#include "pretext/data/voxelize.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pretext::core {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

std::vector<std::size_t> cropIndices(const PointCloud& c, const CropOptions& o) {
  std::vector<std::size_t> keep;
  keep.reserve(c.size());
  const double halfFov = o.fovDeg * 0.5 * kPi / 180.0;
  const double minR2 = o.minRange * o.minRange, maxR2 = o.maxRange * o.maxRange;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double x = c.xyz[3 * i], y = c.xyz[3 * i + 1], z = c.xyz[3 * i + 2];
    const double r2 = x * x + y * y;
    if (r2 < minR2 || (o.maxRange > 0 && r2 > maxR2) || z < o.zMin || z > o.zMax) continue;
    if (o.frontFov && (x <= 0 || std::fabs(std::atan2(y, x)) > halfFov)) continue;
    keep.push_back(i);
  }
  return keep;
}

int VoxelGridSpec::dim(int a) const {
  return std::max(1, static_cast<int>(std::ceil((hi[a] - lo[a]) / size[a] - 1e-9)));
}

VoxelGridSpec pillarGrid(double range, double pillar, double zMin, double zMax) {
  VoxelGridSpec g;
  g.lo[0] = g.lo[1] = -range;
  g.hi[0] = g.hi[1] = range;
  g.lo[2] = zMin;
  g.hi[2] = zMax;
  g.size[0] = g.size[1] = pillar;
  g.size[2] = zMax - zMin;
  return g;
}

Voxels voxelize(const float* xyz, std::size_t n, const VoxelGridSpec& g) {
  const std::int64_t dx = g.dim(0), dy = g.dim(1), dz = g.dim(2);
  Voxels v;
  v.voxelOfPoint.assign(n, -1);
  std::vector<std::int32_t> counts;
  // Dense lookup when the grid is small enough, a hash map otherwise.
  const std::int64_t cells = dx * dy * dz;
  const bool dense = cells <= (1 << 24);
  std::vector<std::int32_t> table(dense ? static_cast<std::size_t>(cells) : 0, -1);
  std::unordered_map<std::int64_t, std::int32_t> hash;
  const double inv[3] = {1 / g.size[0], 1 / g.size[1], 1 / g.size[2]};
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t c[3];
    bool inside = true;
    for (int a = 0; a < 3; ++a) {
      const double p = xyz[3 * i + a];
      if (!(p >= g.lo[a] && p < g.hi[a])) {
        inside = false;
        break;
      }
      c[a] = std::min<std::int64_t>(static_cast<std::int64_t>((p - g.lo[a]) * inv[a]),
                                    a == 0   ? dx - 1
                                    : a == 1 ? dy - 1
                                             : dz - 1);
    }
    if (!inside) {
      ++v.droppedPoints;
      continue;
    }
    const std::int64_t key = (c[2] * dy + c[1]) * dx + c[0];
    std::int32_t* slot;
    if (dense) {
      slot = &table[static_cast<std::size_t>(key)];
    } else {
      auto it = hash.emplace(key, -1).first;
      slot = &it->second;
    }
    if (*slot < 0) {
      if (static_cast<int>(counts.size()) >= g.maxVoxels) {
        ++v.droppedPoints;
        continue;
      }
      *slot = static_cast<std::int32_t>(counts.size());
      counts.push_back(0);
      for (int a = 0; a < 3; ++a) v.coords.push_back(static_cast<std::int32_t>(c[a]));
    }
    if (counts[static_cast<std::size_t>(*slot)] >= g.maxPointsPerVoxel) {
      ++v.droppedPoints;
      continue;
    }
    ++counts[static_cast<std::size_t>(*slot)];
    v.voxelOfPoint[i] = *slot;
  }
  // Group point indices by voxel (counting sort) and average them.
  const std::size_t nv = counts.size();
  v.start.assign(nv + 1, 0);
  for (std::size_t k = 0; k < nv; ++k)
    v.start[k + 1] = v.start[k] + static_cast<std::uint32_t>(counts[k]);
  v.order.resize(v.start[nv]);
  std::vector<std::uint32_t> fill(v.start.begin(), v.start.end() - 1);
  v.centroid.assign(3 * nv, 0.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t vox = v.voxelOfPoint[i];
    if (vox < 0) continue;
    v.order[fill[static_cast<std::size_t>(vox)]++] = static_cast<std::uint32_t>(i);
    for (int a = 0; a < 3; ++a)
      v.centroid[3 * static_cast<std::size_t>(vox) + static_cast<std::size_t>(a)] += xyz[3 * i + a];
  }
  for (std::size_t k = 0; k < nv; ++k)
    for (int a = 0; a < 3; ++a)
      v.centroid[3 * k + static_cast<std::size_t>(a)] /= static_cast<float>(counts[k]);
  return v;
}

CloudBatch collate(const std::vector<PointCloud>& clouds) {
  CloudBatch b;
  if (clouds.empty()) return b;
  for (const auto& name : clouds[0].fieldNames) {
    bool everywhere = true;
    for (const auto& c : clouds) everywhere = everywhere && c.field(name);
    if (everywhere) b.fieldNames.push_back(name);
  }
  b.fields.resize(b.fieldNames.size());
  std::size_t total = 0;
  for (const auto& c : clouds) total += c.size();
  b.xyz.reserve(3 * total);
  for (auto& f : b.fields) f.reserve(total);
  for (const auto& c : clouds) {
    b.xyz.insert(b.xyz.end(), c.xyz.begin(), c.xyz.end());
    for (std::size_t f = 0; f < b.fieldNames.size(); ++f) {
      const auto* src = c.field(b.fieldNames[f]);
      b.fields[f].insert(b.fields[f].end(), src->begin(), src->end());
    }
    b.offsets.push_back(b.offsets.back() + static_cast<std::int64_t>(c.size()));
  }
  return b;
}

NeighborGrid::NeighborGrid(const float* xyz, std::size_t n, double cell)
    : m_xyz(xyz), m_cell(cell) {
  m_cells.reserve(n / 4 + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<std::int64_t>(std::floor(xyz[3 * i] / cell));
    const auto y = static_cast<std::int64_t>(std::floor(xyz[3 * i + 1] / cell));
    const auto z = static_cast<std::int64_t>(std::floor(xyz[3 * i + 2] / cell));
    m_cells[key(x, y, z)].push_back(static_cast<std::uint32_t>(i));
  }
}

std::int64_t NeighborGrid::nearest(const float* q, double maxDist, double* dist) const {
  const std::int64_t cx = static_cast<std::int64_t>(std::floor(q[0] / m_cell));
  const std::int64_t cy = static_cast<std::int64_t>(std::floor(q[1] / m_cell));
  const std::int64_t cz = static_cast<std::int64_t>(std::floor(q[2] / m_cell));
  double best = maxDist * maxDist;
  std::int64_t bestIdx = -1;
  const int rings = static_cast<int>(std::ceil(maxDist / m_cell));
  // Shell r holds every cell at Chebyshev distance r; points there are >= (r-1)*cell away.
  for (int r = 0; r <= rings; ++r) {
    if (bestIdx >= 0 && (r - 1) * m_cell > std::sqrt(best)) break;
    for (int i = -r; i <= r; ++i)
      for (int j = -r; j <= r; ++j)
        for (int k = -r; k <= r; ++k) {
          if (std::max({std::abs(i), std::abs(j), std::abs(k)}) != r) continue;
          // Hash collisions can put far cells in the same bucket: distances stay exact.
          auto it = m_cells.find(key(cx + i, cy + j, cz + k));
          if (it == m_cells.end()) continue;
          for (std::uint32_t p : it->second) {
            const double ex = m_xyz[3 * p] - q[0], ey = m_xyz[3 * p + 1] - q[1],
                         ez = m_xyz[3 * p + 2] - q[2];
            const double d2 = ex * ex + ey * ey + ez * ez;
            if (d2 < best) {
              best = d2;
              bestIdx = p;
            }
          }
        }
  }
  if (dist && bestIdx >= 0) *dist = std::sqrt(best);
  return bestIdx;
}

}  // namespace pretext::core
