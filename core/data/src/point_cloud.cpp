#include "pretext/data/point_cloud.h"

#include <algorithm>
#include <cmath>

namespace pretext::core {

const std::vector<float>* PointCloud::field(const std::string& name) const {
  for (std::size_t i = 0; i < fieldNames.size(); ++i)
    if (fieldNames[i] == name) return &fields[i];
  return nullptr;
}

std::vector<float>* PointCloud::field(const std::string& name) {
  for (std::size_t i = 0; i < fieldNames.size(); ++i)
    if (fieldNames[i] == name) return &fields[i];
  return nullptr;
}

std::vector<float>& PointCloud::addField(const std::string& name, float fill) {
  if (auto* f = field(name)) return *f;
  fieldNames.push_back(name);
  fields.emplace_back(size(), fill);
  return fields.back();
}

void PointCloud::select(const std::vector<std::size_t>& index) {
  std::vector<float> p(index.size() * 3);
  for (std::size_t k = 0; k < index.size(); ++k)
    for (int d = 0; d < 3; ++d) p[3 * k + d] = xyz[3 * index[k] + d];
  xyz.swap(p);
  for (auto& f : fields) {
    std::vector<float> g(index.size());
    for (std::size_t k = 0; k < index.size(); ++k) g[k] = f[index[k]];
    f.swap(g);
  }
}

void PointCloud::dropNonFinite() {
  const std::size_t n = size();
  bool allFinite = true;
  for (float v : xyz) allFinite = allFinite && std::isfinite(v);
  if (allFinite) return;
  std::vector<std::size_t> keep;
  keep.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(xyz[3 * i]) && std::isfinite(xyz[3 * i + 1]) && std::isfinite(xyz[3 * i + 2]))
      keep.push_back(i);
  if (keep.size() == n) return;
  droppedNonFinite += n - keep.size();
  select(keep);
}

Mat4 identity4() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }

Mat4 multiply(const Mat4& a, const Mat4& b) {
  Mat4 c{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[4 * i + k] * b[4 * k + j];
      c[4 * i + j] = s;
    }
  return c;
}

Mat4 inverseRigid(const Mat4& m) {
  Mat4 r = identity4();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[4 * i + j] = m[4 * j + i];
  for (int i = 0; i < 3; ++i)
    r[4 * i + 3] = -(r[4 * i] * m[3] + r[4 * i + 1] * m[7] + r[4 * i + 2] * m[11]);
  return r;
}

Mat4 inverseAffine(const Mat4& m) {
  // Inverse of the 3x3 block by cofactors, then -A^-1 t.
  const double a = m[0], b = m[1], c = m[2], d = m[4], e = m[5], f = m[6], g = m[8], h = m[9],
               k = m[10];
  const double det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
  if (std::fabs(det) < 1e-300) throw DataError("transform: singular 3x3 block");
  Mat4 r = identity4();
  r[0] = (e * k - f * h) / det;
  r[1] = (c * h - b * k) / det;
  r[2] = (b * f - c * e) / det;
  r[4] = (f * g - d * k) / det;
  r[5] = (a * k - c * g) / det;
  r[6] = (c * d - a * f) / det;
  r[8] = (d * h - e * g) / det;
  r[9] = (b * g - a * h) / det;
  r[10] = (a * e - b * d) / det;
  for (int i = 0; i < 3; ++i)
    r[4 * i + 3] = -(r[4 * i] * m[3] + r[4 * i + 1] * m[7] + r[4 * i + 2] * m[11]);
  return r;
}

void transformPoints(const Mat4& m, const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double x = in[3 * i], y = in[3 * i + 1], z = in[3 * i + 2];
    out[3 * i] = static_cast<float>(m[0] * x + m[1] * y + m[2] * z + m[3]);
    out[3 * i + 1] = static_cast<float>(m[4] * x + m[5] * y + m[6] * z + m[7]);
    out[3 * i + 2] = static_cast<float>(m[8] * x + m[9] * y + m[10] * z + m[11]);
  }
}

Mat4 poseFromYaw(double yaw, double tx, double ty, double tz) {
  const double c = std::cos(yaw), s = std::sin(yaw);
  return {c, -s, 0, tx, s, c, 0, ty, 0, 0, 1, tz, 0, 0, 0, 1};
}

namespace {
// Point in the box's own frame (origin at the centre).
void toBoxFrame(const Box3D& b, double x, double y, double z, double& u, double& v, double& w) {
  const double c = std::cos(b.yaw), s = std::sin(b.yaw);
  const double dx = x - b.cx, dy = y - b.cy;
  u = c * dx + s * dy;
  v = -s * dx + c * dy;
  w = z - b.cz;
}
}  // namespace

bool Box3D::contains(double x, double y, double z, double margin) const {
  double u, v, w;
  toBoxFrame(*this, x, y, z, u, v, w);
  return std::fabs(u) <= length / 2 + margin && std::fabs(v) <= width / 2 + margin &&
         std::fabs(w) <= height / 2 + margin;
}

std::size_t countPointsInBox(const PointCloud& cloud, const Box3D& box, double margin) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < cloud.size(); ++i)
    if (box.contains(cloud.xyz[3 * i], cloud.xyz[3 * i + 1], cloud.xyz[3 * i + 2], margin)) ++n;
  return n;
}

}  // namespace pretext::core
