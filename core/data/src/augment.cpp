#include "pretext/data/augment.h"

#include <algorithm>
#include <cmath>

namespace pretext::core {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

Mat4 SpatialTransform::matrix() const {
  const double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
  const double fx = flipX ? -1 : 1, fy = flipY ? -1 : 1;
  return {c * fx, -s * fy, 0, t[0], s * fx, c * fy, 0, t[1], 0, 0, scale, t[2], 0, 0, 0, 1};
}

void SpatialTransform::apply(const float* in, float* out, std::size_t n) const {
  transformPoints(matrix(), in, out, n);
}

void SpatialTransform::applyVectors(const float* in, float* out, std::size_t n) const {
  Mat4 m = matrix();
  m[3] = m[7] = m[11] = 0;
  transformPoints(m, in, out, n);
}

void SpatialTransform::applyBox(Box3D& b) const {
  const float c[3] = {static_cast<float>(b.cx), static_cast<float>(b.cy), static_cast<float>(b.cz)};
  float o[3];
  apply(c, o, 1);
  // Heading direction (cos yaw, sin yaw) mapped by the linear part.
  const Mat4 m = matrix();
  const double hx = std::cos(b.yaw), hy = std::sin(b.yaw);
  b.yaw = std::atan2(m[4] * hx + m[5] * hy, m[0] * hx + m[1] * hy);
  b.cx = o[0];
  b.cy = o[1];
  b.cz = o[2];
  b.length *= scale;
  b.width *= scale;
  b.height *= scale;
}

SpatialTransform SpatialTransform::inverse() const {
  SpatialTransform r;
  r.scale = 1.0 / scale;
  r.flipX = flipX;
  r.flipY = flipY;
  r.angle = -flipDeterminant() * angle;
  // t' = -(1/s) R(angle') F t
  const double c = std::cos(r.angle), s = std::sin(r.angle);
  const double fx = flipX ? -t[0] : t[0], fy = flipY ? -t[1] : t[1];
  r.t[0] = -(c * fx - s * fy) / scale;
  r.t[1] = -(s * fx + c * fy) / scale;
  r.t[2] = -t[2] / scale;
  return r;
}

SpatialTransform SpatialTransform::then(const SpatialTransform& next) const {
  // next(this(p)) = s2 s1 R2 F2 R1 F1 p + s2 R2 F2 t1 + t2, and F2 R(a) = R(det F2 * a) F2.
  SpatialTransform r;
  r.scale = next.scale * scale;
  r.angle = next.angle + next.flipDeterminant() * angle;
  r.flipX = next.flipX != flipX;
  r.flipY = next.flipY != flipY;
  const Mat4 m2 = next.matrix();
  for (int i = 0; i < 3; ++i)
    r.t[i] = m2[4 * i] * t[0] + m2[4 * i + 1] * t[1] + m2[4 * i + 2] * t[2] + m2[4 * i + 3];
  return r;
}

int rotationBin(double angle, const AugmentOptions& o) {
  const double width = 2 * o.rotationRange / o.rotationBins;
  double a = angle + o.rotationRange;
  if (o.rotationRange >= kPi) a = std::fmod(std::fmod(a, 2 * kPi) + 2 * kPi, 2 * kPi);
  return std::clamp(static_cast<int>(std::floor(a / width)), 0, o.rotationBins - 1);
}

double rotationBinCentre(int bin, const AugmentOptions& o) {
  const double width = 2 * o.rotationRange / o.rotationBins;
  return -o.rotationRange + (bin + 0.5) * width;
}

int scaleBin(double scale, const AugmentOptions& o) {
  if (o.scaleMax <= o.scaleMin) return 0;
  const double width = (o.scaleMax - o.scaleMin) / o.scaleBins;
  return std::clamp(static_cast<int>(std::floor((scale - o.scaleMin) / width)), 0, o.scaleBins - 1);
}

double scaleBinCentre(int bin, const AugmentOptions& o) {
  return o.scaleMin + (bin + 0.5) * (o.scaleMax - o.scaleMin) / o.scaleBins;
}

int translationBin(double offset, const AugmentOptions& o) {
  if (o.translationMax <= 0) return 0;
  const double width = 2 * o.translationMax / o.translationBins;
  return std::clamp(static_cast<int>(std::floor((offset + o.translationMax) / width)), 0,
                    o.translationBins - 1);
}

double translationBinCentre(int bin, const AugmentOptions& o) {
  return -o.translationMax + (bin + 0.5) * 2 * o.translationMax / o.translationBins;
}

SpatialTransform sampleTransform(const AugmentOptions& o, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> U(0.0, 1.0);
  SpatialTransform t;
  if (o.rotation && o.rotationRange > 0) {
    if (o.rotationAtBinCentres) {
      const int bin = std::uniform_int_distribution<int>(0, o.rotationBins - 1)(rng);
      t.angle = rotationBinCentre(bin, o);
    } else {
      t.angle = (2 * U(rng) - 1) * o.rotationRange;
    }
  }
  if (o.translation) {
    for (double& v : t.t) v = (2 * U(rng) - 1) * o.translationMax;
    if (o.translationAtBinCentres)
      for (int a = 0; a < 2; ++a)
        t.t[a] = translationBinCentre(
            std::uniform_int_distribution<int>(0, o.translationBins - 1)(rng), o);
  }
  if (o.scaling) {
    t.scale = o.scaleMin + (o.scaleMax - o.scaleMin) * U(rng);
    if (o.scaleAtBinCentres)
      t.scale = scaleBinCentre(std::uniform_int_distribution<int>(0, o.scaleBins - 1)(rng), o);
  }
  t.flipY = U(rng) < o.flipYProb;
  t.flipX = U(rng) < o.flipXProb;
  return t;
}

AugmentedView augmentView(const PointCloud& in, const SpatialTransform& t, const AugmentOptions& o,
                          std::mt19937_64& rng) {
  AugmentedView v;
  v.transform = t;
  const std::size_t n = in.size();
  std::vector<std::size_t> keep;
  keep.reserve(n);
  if (o.dropout > 0) {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    for (std::size_t i = 0; i < n; ++i)
      if (U(rng) >= o.dropout) keep.push_back(i);
  } else {
    for (std::size_t i = 0; i < n; ++i) keep.push_back(i);
  }
  v.cloud = in;
  v.cloud.select(keep);
  t.apply(v.cloud.xyz.data(), v.cloud.xyz.data(), v.cloud.size());
  if (o.jitter > 0) {
    std::normal_distribution<float> N(0.0f, static_cast<float>(o.jitter));
    for (float& x : v.cloud.xyz) x += N(rng);
  }
  v.source.assign(keep.begin(), keep.end());
  return v;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> matchViews(const AugmentedView& a,
                                                                const AugmentedView& b,
                                                                std::size_t sourceSize) {
  std::vector<std::int64_t> inB(sourceSize, -1);
  for (std::size_t j = 0; j < b.source.size(); ++j) inB[b.source[j]] = static_cast<std::int64_t>(j);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (std::size_t i = 0; i < a.source.size(); ++i)
    if (inB[a.source[i]] >= 0)
      out.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(inB[a.source[i]]));
  return out;
}

}  // namespace pretext::core
