#include "pretext/core/street_sim.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>

namespace pretext::core {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kRoadHalfWidth = 6.0;
constexpr double kCurbHeight = 0.15;

struct Hit {
  double t = std::numeric_limits<double>::infinity();
  double nx = 0, ny = 0, nz = 1;
  SimClass cls = SimClass::Road;
  double reflectivity = 0.2;
};

// An upright box rotated by `yaw` about its centre.
struct Box {
  double cx, cy, z0, hx, hy, h, yaw;
  SimClass cls;
  double refl;
};
struct Cylinder {
  double cx, cy, z0, r, h;
  SimClass cls;
  double refl;
};
struct Sphere {
  double cx, cy, cz, r;
  SimClass cls;
  double refl;
};

struct Scene {
  double ground;  // road height (negative: below the sensor)
  std::vector<Box> boxes;
  std::vector<Cylinder> cylinders;
  std::vector<Sphere> spheres;
};

void hitGround(const Scene& s, double dx, double dy, double dz, Hit& best) {
  if (dz >= -1e-9) return;
  // Sidewalks beyond the curb are kCurbHeight higher than the road.
  double t = (s.ground + kCurbHeight) / dz;
  if (t > 0 && std::fabs(t * dy) > kRoadHalfWidth && t < best.t) {
    best = {t, 0, 0, 1, SimClass::Sidewalk, 0.35};
    return;
  }
  t = s.ground / dz;
  if (t > 0 && std::fabs(t * dy) <= kRoadHalfWidth && t < best.t)
    best = {t, 0, 0, 1, SimClass::Road, 0.15};
}

void hitBox(const Box& b, double dx, double dy, double dz, Hit& best) {
  // Ray from the origin in the box frame.
  const double c = std::cos(b.yaw), s = std::sin(b.yaw);
  const double ox = -b.cx * c - b.cy * s, oy = b.cx * s - b.cy * c, oz = -b.z0;
  const double rx = dx * c + dy * s, ry = -dx * s + dy * c, rz = dz;
  double tmin = 0, tmax = best.t;
  int axis = -1;
  double sign = 0;
  const double o[3] = {ox, oy, oz}, r[3] = {rx, ry, rz};
  const double lo[3] = {-b.hx, -b.hy, 0}, hi[3] = {b.hx, b.hy, b.h};
  for (int a = 0; a < 3; ++a) {
    if (std::fabs(r[a]) < 1e-12) {
      if (o[a] < lo[a] || o[a] > hi[a]) return;
      continue;
    }
    double t1 = (lo[a] - o[a]) / r[a], t2 = (hi[a] - o[a]) / r[a];
    double sgn = -1;
    if (t1 > t2) {
      std::swap(t1, t2);
      sgn = 1;
    }
    if (t1 > tmin) {
      tmin = t1;
      axis = a;
      sign = sgn;
    }
    tmax = std::min(tmax, t2);
    if (tmin > tmax) return;
  }
  if (axis < 0 || tmin <= 0 || tmin >= best.t) return;
  double n[3] = {0, 0, 0};
  n[axis] = sign;
  // Back to the sensor frame.
  best = {tmin, n[0] * c - n[1] * s, n[0] * s + n[1] * c, n[2], b.cls, b.refl};
}

void hitCylinder(const Cylinder& cy, double dx, double dy, double dz, Hit& best) {
  const double a = dx * dx + dy * dy;
  if (a < 1e-12) return;
  const double bq = -2 * (dx * cy.cx + dy * cy.cy);
  const double cq = cy.cx * cy.cx + cy.cy * cy.cy - cy.r * cy.r;
  const double disc = bq * bq - 4 * a * cq;
  if (disc < 0) return;
  const double t = (-bq - std::sqrt(disc)) / (2 * a);
  if (t <= 0 || t >= best.t) return;
  const double z = t * dz;
  if (z < cy.z0 || z > cy.z0 + cy.h) return;
  best = {t, (t * dx - cy.cx) / cy.r, (t * dy - cy.cy) / cy.r, 0, cy.cls, cy.refl};
}

void hitSphere(const Sphere& sp, double dx, double dy, double dz, Hit& best) {
  const double bq = -2 * (dx * sp.cx + dy * sp.cy + dz * sp.cz);
  const double cq = sp.cx * sp.cx + sp.cy * sp.cy + sp.cz * sp.cz - sp.r * sp.r;
  const double disc = bq * bq - 4 * cq;
  if (disc < 0) return;
  const double t = (-bq - std::sqrt(disc)) / 2;
  if (t <= 0 || t >= best.t) return;
  best = {t,      (t * dx - sp.cx) / sp.r, (t * dy - sp.cy) / sp.r, (t * dz - sp.cz) / sp.r, sp.cls,
          sp.refl};
}

Scene buildScene(const StreetSimOptions& o, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> U(0.0, 1.0);
  auto uni = [&](double a, double b) { return a + (b - a) * U(rng); };
  Scene s;
  s.ground = -o.sensorHeight;
  // Building rows on both sides of the street, with gaps between buildings.
  for (int side : {-1, 1}) {
    double x = -o.maxRange;
    while (x < o.maxRange) {
      const double len = uni(8, 25), gap = uni(1, 6);
      const double setback = uni(9, 13), depth = uni(6, 12), height = uni(5, 16);
      s.boxes.push_back({x + len / 2, side * (setback + depth / 2), s.ground + kCurbHeight, len / 2,
                         depth / 2, height, 0.0, SimClass::Building, uni(0.3, 0.5)});
      x += len + gap;
    }
  }
  for (int i = 0; i < o.objects; ++i) {
    const double kind = U(rng);
    const double x = uni(-o.maxRange * 0.7, o.maxRange * 0.7);
    if (kind < 0.5) {  // car: parked at the kerb or in a lane, roughly along the street
      const double lane = U(rng) < 0.6 ? (U(rng) < 0.5 ? -4.5 : 4.5) : (U(rng) < 0.5 ? -1.8 : 1.8);
      if (std::fabs(x) < 4 && std::fabs(lane) < 3) continue;  // keep the ego lane clear
      s.boxes.push_back({x, lane, s.ground, uni(1.9, 2.4), uni(0.85, 1.0), uni(1.4, 1.8),
                         uni(-0.15, 0.15), SimClass::Car, uni(0.5, 0.9)});
    } else if (kind < 0.75) {  // pole on the sidewalk
      const double y = (U(rng) < 0.5 ? -1 : 1) * uni(6.5, 8.0);
      s.cylinders.push_back({x, y, s.ground + kCurbHeight, 0.12, uni(4, 8), SimClass::Pole, 0.6});
    } else {  // tree: trunk and crown
      const double y = (U(rng) < 0.5 ? -1 : 1) * uni(6.8, 8.5);
      const double trunk = uni(2, 3.5), crown = uni(1.2, 2.2);
      s.cylinders.push_back({x, y, s.ground + kCurbHeight, 0.2, trunk, SimClass::Vegetation, 0.25});
      s.spheres.push_back(
          {x, y, s.ground + kCurbHeight + trunk + crown * 0.8, crown, SimClass::Vegetation, 0.2});
    }
  }
  return s;
}

}  // namespace

LidarScan simulateStreetScan(const StreetSimOptions& o, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Scene scene = buildScene(o, rng);
  std::normal_distribution<double> noise(0.0, o.rangeNoise > 0 ? o.rangeNoise : 1.0);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  LidarScan scan;
  scan.xyz.reserve(static_cast<std::size_t>(o.beams * o.azimuthSteps) * 3);
  // HDL-64E-like vertical field of view: +2 deg down to -24.8 deg.
  const double elevTop = 2.0 * kPi / 180, elevBottom = -24.8 * kPi / 180;
  for (int b = 0; b < o.beams; ++b) {
    const double el = o.beams == 1 ? 0 : elevTop + (elevBottom - elevTop) * b / (o.beams - 1);
    const double ce = std::cos(el), se = std::sin(el);
    for (int a = 0; a < o.azimuthSteps; ++a) {
      const double az = 2 * kPi * a / o.azimuthSteps;
      const double dx = ce * std::cos(az), dy = ce * std::sin(az), dz = se;
      Hit best;
      best.t = o.maxRange;
      hitGround(scene, dx, dy, dz, best);
      for (const auto& bx : scene.boxes) hitBox(bx, dx, dy, dz, best);
      for (const auto& c : scene.cylinders) hitCylinder(c, dx, dy, dz, best);
      for (const auto& sp : scene.spheres) hitSphere(sp, dx, dy, dz, best);
      if (!(best.t < o.maxRange) || best.t < 1.0) continue;
      if (U(rng) < o.dropout) continue;
      const double r = best.t + (o.rangeNoise > 0 ? noise(rng) : 0.0);
      const double cosInc = std::fabs(dx * best.nx + dy * best.ny + dz * best.nz);
      const double inten = std::clamp(best.reflectivity * (0.3 + 0.7 * cosInc), 0.0, 1.0);
      scan.xyz.push_back(static_cast<float>(r * dx));
      scan.xyz.push_back(static_cast<float>(r * dy));
      scan.xyz.push_back(static_cast<float>(r * dz));
      scan.intensity.push_back(static_cast<float>(inten));
      scan.label.push_back(static_cast<std::uint8_t>(best.cls));
    }
  }
  return scan;
}

bool readKittiBin(const std::string& path, LidarScan& scan, std::size_t& droppedNonFinite,
                  std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  const std::size_t bytes = static_cast<std::size_t>(st.st_size);
  if (bytes == 0) {
    error = path + ": empty file (expected float32 x, y, z, intensity records)";
    return false;
  }
  if (bytes % 16 != 0) {
    error = path + ": size " + std::to_string(bytes) +
            " bytes is not a multiple of the 16-byte record (float32 x, y, z, intensity); "
            "truncated or not a KITTI .bin";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<float> raw(bytes / 4);
  if (!in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(bytes))) {
    error = path + ": read failed";
    return false;
  }
  scan = LidarScan{};
  droppedNonFinite = 0;
  const std::size_t n = bytes / 16;
  scan.xyz.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    const float* r = &raw[i * 4];
    if (!std::isfinite(r[0]) || !std::isfinite(r[1]) || !std::isfinite(r[2]) ||
        !std::isfinite(r[3])) {
      ++droppedNonFinite;
      continue;
    }
    scan.xyz.insert(scan.xyz.end(), r, r + 3);
    scan.intensity.push_back(r[3]);
    scan.label.push_back(0);
  }
  if (scan.size() == 0) {
    error = path + ": no finite points";
    return false;
  }
  return true;
}

}  // namespace pretext::core
