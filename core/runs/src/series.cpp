#include "pretext/runs/series.h"

#include <algorithm>

namespace pretext::core {

std::vector<std::size_t> decimateMinMaxIndices(const std::vector<XYPoint>& pts, double x0,
                                               double x1, int buckets) {
  std::vector<std::size_t> out;
  if (pts.size() <= static_cast<std::size_t>(4 * std::max(buckets, 1)) || !(x1 > x0) ||
      buckets < 1) {
    out.resize(pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i) out[i] = i;
    return out;
  }
  out.reserve(static_cast<std::size_t>(buckets) * 4);
  const double width = (x1 - x0) / buckets;
  // The bucket of x, clamped to [0, buckets - 1] (also for infinite or NaN x).
  auto bucketOf = [&](double x) {
    const double t = (x - x0) / width;
    if (!(t >= 0)) return 0L;
    if (t >= buckets) return static_cast<long>(buckets - 1);
    return static_cast<long>(t);
  };
  std::size_t i = 0;
  while (i < pts.size()) {
    const long b = bucketOf(pts[i].first);
    std::size_t first = i, lo = i, hi = i, last = i;
    for (++i; i < pts.size(); ++i) {
      if (bucketOf(pts[i].first) != b) break;
      if (pts[i].second < pts[lo].second) lo = i;
      if (pts[i].second > pts[hi].second) hi = i;
      last = i;
    }
    std::size_t idx[4] = {first, lo, hi, last};
    std::sort(idx, idx + 4);
    for (int k = 0; k < 4; ++k)
      if (k == 0 || idx[k] != idx[k - 1]) out.push_back(idx[k]);
  }
  return out;
}

std::vector<XYPoint> decimateMinMax(const std::vector<XYPoint>& points, double x0, double x1,
                                    int buckets) {
  const auto keep = decimateMinMaxIndices(points, x0, x1, buckets);
  if (keep.size() == points.size()) return points;
  std::vector<XYPoint> out;
  out.reserve(keep.size());
  for (auto k : keep) out.push_back(points[k]);
  return out;
}

std::vector<double> smoothDebiased(const std::vector<double>& values, double w) {
  w = std::clamp(w, 0.0, 0.999);
  if (w == 0) return values;
  std::vector<double> out(values.size());
  double m = 0, wPow = 1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    m = w * m + (1 - w) * values[i];
    wPow *= w;
    out[i] = m / (1 - wPow);
  }
  return out;
}

}  // namespace pretext::core
