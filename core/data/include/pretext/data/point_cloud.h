#pragma once
// Point clouds with named per-point fields, 3D boxes, rigid poses and the data error type.
// Plain C++ (no Qt, no LibTorch): used by the readers, the simulator, the augmentations and
// the fuzz targets, which are built with a different compiler. Values; any thread.
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pretext::core {

// Thrown by every reader and parser for malformed or unreadable input. The message always
// starts with the file (or key) it is about, e.g. "scan.pcd: header says POINTS 10 but ...".
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// N points: xyz plus any number of named float fields of length N (intensity, ring, class,
// instance, rgb, ...). Fields of other scalar types are converted to float on reading
// (integers above 2^24 lose precision; documented in docs/data.md).
struct PointCloud {
  std::vector<float> xyz;  // 3 per point; metres in the sensor frame (x forward, y left, z up)
  std::vector<std::string> fieldNames;
  std::vector<std::vector<float>> fields;
  std::size_t droppedNonFinite = 0;  // rows dropped by the reader for NaN/Inf coordinates

  std::size_t size() const { return xyz.size() / 3; }
  bool empty() const { return xyz.empty(); }
  // nullptr when absent.
  const std::vector<float>* field(const std::string& name) const;
  std::vector<float>* field(const std::string& name);
  // Adds (or returns the existing) field, sized to size().
  std::vector<float>& addField(const std::string& name, float fill = 0.0f);
  // Keeps the points at `index` (in that order; repeats allowed) in xyz and every field.
  void select(const std::vector<std::size_t>& index);
  // Drops rows whose x, y or z is NaN/Inf, adding their number to droppedNonFinite.
  void dropNonFinite();
};

// Row-major 4x4 rigid (or similarity) transform acting on column vectors: p' = M p.
using Mat4 = std::array<double, 16>;
Mat4 identity4();
Mat4 multiply(const Mat4& a, const Mat4& b);  // a * b
Mat4 inverseRigid(const Mat4& m);             // exact for rotation + translation
Mat4 inverseAffine(const Mat4& m);            // general 3x4 affine inverse
void transformPoints(const Mat4& m, const float* in, float* out, std::size_t n);
// Yaw about z and translation.
Mat4 poseFromYaw(double yaw, double tx, double ty, double tz);

// An upright 3D box in some frame: centre, size along its own x (length), y (width),
// z (height), rotated by yaw about z.
struct Box3D {
  double cx = 0, cy = 0, cz = 0;
  double length = 0, width = 0, height = 0;
  double yaw = 0;
  std::string label;  // "Car", "Pedestrian", ...
  int instance = -1;
  bool contains(double x, double y, double z, double margin = 0.0) const;
};

std::size_t countPointsInBox(const PointCloud& cloud, const Box3D& box, double margin = 0.0);

}  // namespace pretext::core
