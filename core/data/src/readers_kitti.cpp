// KITTI text formats: object labels (label_2), object calibration, odometry poses and the
// odometry calib `Tr` line. Boxes are moved from the rectified camera frame into the LiDAR
// frame with R0_rect and Tr_velo_to_cam.
#include <cmath>

#include "pretext/data/readers.h"
#include "readers_detail.h"

namespace pretext::core {

using namespace io;

namespace {

// Parses "KEY: v1 ... vN" lines into a map; values must all be numbers.
std::map<std::string, std::vector<double>> keyedRows(const std::string& name,
                                                     std::string_view text) {
  std::map<std::string, std::vector<double>> rows;
  forEachWordLine(
      text, [&](int lineNo, const std::vector<std::string_view>& w, std::string_view line) {
        std::string key(w[0]);
        if (key.back() != ':')
          fail(name,
               "line " + std::to_string(lineNo) + ": expected 'KEY: values', got " + quoted(line));
        key.pop_back();
        std::vector<double> v;
        for (std::size_t i = 1; i < w.size(); ++i) {
          double d;
          if (!parseDouble(w[i], d) || !std::isfinite(d))
            fail(name, "line " + std::to_string(lineNo) + " (" + key + "): " + quoted(w[i]) +
                           " is not a finite number");
          v.push_back(d);
        }
        rows[key] = std::move(v);
      });
  return rows;
}

const std::vector<double>& need(const std::string& name,
                                const std::map<std::string, std::vector<double>>& rows,
                                std::initializer_list<const char*> keys, std::size_t count) {
  for (const char* k : keys) {
    auto it = rows.find(k);
    if (it == rows.end()) continue;
    if (it->second.size() != count)
      fail(name, std::string(k) + " has " + std::to_string(it->second.size()) +
                     " values, expected " + std::to_string(count));
    return it->second;
  }
  fail(name, "missing " + std::string(*keys.begin()) + " line");
}

Mat4 from3x4(const double* v) {
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], 0, 0, 0, 1};
}

}  // namespace

Mat4 KittiCalib::veloToRectCam() const {
  Mat4 r = identity4();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[4 * i + j] = R0[3 * i + j];
  return multiply(r, from3x4(TrVeloToCam));
}

KittiCalib parseKittiCalib(const std::string& name, std::string_view text) {
  const auto rows = keyedRows(name, text);
  KittiCalib c;
  const auto& p2 = need(name, rows, {"P2"}, 12);
  const auto& r0 = need(name, rows, {"R0_rect", "R_rect"}, 9);
  const auto& tr = need(name, rows, {"Tr_velo_to_cam", "Tr_velo_cam"}, 12);
  std::copy(p2.begin(), p2.end(), c.P2);
  std::copy(r0.begin(), r0.end(), c.R0);
  std::copy(tr.begin(), tr.end(), c.TrVeloToCam);
  const Mat4 m = c.veloToRectCam();
  const double det = m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
                     m[2] * (m[4] * m[9] - m[5] * m[8]);
  if (std::fabs(det - 1.0) > 0.05)
    fail(name, "R0_rect * Tr_velo_to_cam is not a rotation (det " + std::to_string(det) + ")");
  return c;
}

std::vector<KittiObject> parseKittiLabels(const std::string& name, std::string_view text) {
  std::vector<KittiObject> out;
  forEachWordLine(text, [&](int lineNo, const std::vector<std::string_view>& w, std::string_view) {
    const std::string where = "line " + std::to_string(lineNo) + ": ";
    if (w.size() != 15 && w.size() != 16)
      fail(name, where + "expected 15 values (16 with a score), got " + std::to_string(w.size()));
    KittiObject o;
    o.type = std::string(w[0]);
    double v[15];
    for (std::size_t i = 1; i < 15; ++i)
      if (!parseDouble(w[i], v[i]) || !std::isfinite(v[i]))
        fail(name, where + "value " + std::to_string(i + 1) + " " + quoted(w[i]) +
                       " is not a finite number");
    o.truncated = v[1];
    if (v[2] != std::floor(v[2]) || v[2] < -1 || v[2] > 3)
      fail(name, where + "occlusion " + quoted(w[2]) + " is not one of -1, 0, 1, 2, 3");
    o.occluded = static_cast<int>(v[2]);
    o.alpha = v[3];
    for (int i = 0; i < 4; ++i) o.bbox[i] = v[4 + i];
    o.h = v[8];
    o.w = v[9];
    o.l = v[10];
    o.x = v[11];
    o.y = v[12];
    o.z = v[13];
    o.ry = v[14];
    if (o.type != "DontCare" && (o.h < 0 || o.w < 0 || o.l < 0))
      fail(name, where + "negative box dimensions");
    out.push_back(o);
  });
  return out;
}

Box3D kittiBoxInLidar(const KittiObject& o, const KittiCalib& calib) {
  const Mat4 camToVelo = inverseAffine(calib.veloToRectCam());
  auto apply = [&](double x, double y, double z, double w, double out[3]) {
    for (int i = 0; i < 3; ++i)
      out[i] = camToVelo[4 * i] * x + camToVelo[4 * i + 1] * y + camToVelo[4 * i + 2] * z +
               camToVelo[4 * i + 3] * w;
  };
  double c[3], heading[3];
  apply(o.x, o.y - o.h / 2, o.z, 1.0, c);  // camera y points down: centre is h/2 above
  apply(std::cos(o.ry), 0.0, -std::sin(o.ry), 0.0, heading);
  Box3D b;
  b.cx = c[0];
  b.cy = c[1];
  b.cz = c[2];
  b.length = o.l;
  b.width = o.w;
  b.height = o.h;
  b.yaw = std::atan2(heading[1], heading[0]);
  b.label = o.type;
  return b;
}

std::vector<Mat4> parseKittiPoses(const std::string& name, std::string_view text) {
  std::vector<Mat4> poses;
  std::size_t cols = 0;
  forEachWordLine(text, [&](int lineNo, const std::vector<std::string_view>& w, std::string_view) {
    if (w[0][0] == '#') return;
    if (w.size() != 12 && w.size() != 13)
      fail(name, "line " + std::to_string(lineNo) +
                     ": expected 12 pose values (or 13 with a "
                     "timestamp first), got " +
                     std::to_string(w.size()));
    if (cols == 0) cols = w.size();
    if (w.size() != cols)
      fail(name, "line " + std::to_string(lineNo) + " has " + std::to_string(w.size()) +
                     " values, earlier lines have " + std::to_string(cols));
    double v[13];
    for (std::size_t i = 0; i < w.size(); ++i)
      if (!parseDouble(w[i], v[i]) || !std::isfinite(v[i]))
        fail(name,
             "line " + std::to_string(lineNo) + ": " + quoted(w[i]) + " is not a finite number");
    poses.push_back(from3x4(v + (cols - 12)));
  });
  if (poses.empty()) fail(name, "no poses");
  return poses;
}

Mat4 parseOdometryTr(const std::string& name, std::string_view text) {
  const auto rows = keyedRows(name, text);
  return from3x4(need(name, rows, {"Tr"}, 12).data());
}

KittiCalib readKittiCalib(const std::string& path) {
  return parseKittiCalib(path, readFileBytes(path));
}
std::vector<KittiObject> readKittiLabels(const std::string& path) {
  return parseKittiLabels(path, readFileBytes(path));
}

}  // namespace pretext::core
